// Unread counts on the navigation: requests to use my cameos that wait for my answer, and
// notifications newer than where I stopped reading (Mastodon's markers, so every app of mine
// agrees). There is no streaming API: the counts are asked for every 30 s, whenever the window
// comes back into view, and on every change of screen.

import { get, post } from "../api.js";
import { onRoute } from "../router.js";
import { session } from "../session.js";

const EVERY_MS = 30_000;
const MAX = 40; // more unread than this reads "40+"
const listeners = new Set();

// The count for each navigation link, by its href.
export const badges = { "/app/consent": 0, "/app/notifications": 0 };

// The server shows apps Mastodon's notification types only; this one names Likeness's own too.
export const OWN_TYPES = ["quote", "remix_request", "remix_use", "cameo_used", "remix_authorized",
  "remix_rejected", "remix_revoked", "report_resolved"].map((t) => `include_types[]=${t}`).join("&");

export function onBadges(fn) {
  listeners.add(fn);
}

export function badgeText(count) {
  return count >= MAX ? `${MAX}+` : String(count);
}

let latest = 0;

// Only the answer to the latest question is shown: an older one may predate a mark as read.
export async function refreshBadges() {
  const mine = ++latest;
  const counts = session.token ? await unread().catch(() => null) : { "/app/consent": 0, "/app/notifications": 0 };
  if (!counts || mine !== latest) return;
  Object.assign(badges, counts);
  listeners.forEach((fn) => fn());
}

async function unread() {
  // The unread count is the server's, after the notifications marker (Mastodon 4.3).
  const [requests, unread] = await Promise.all([
    get("/api/v1/remix_requests"), get(`/api/v1/notifications/unread_count?limit=${MAX}&${OWN_TYPES}`)]);
  return {
    "/app/consent": requests.filter((r) => r.state === "pending").length,
    "/app/notifications": unread.count,
  };
}

// The Notifications screen shows the newest one: everything up to it is read.
export async function markNotificationsRead(newestId) {
  await post("/api/v1/markers", { notifications: { last_read_id: newestId } });
  await refreshBadges();
}

export function startBadges() {
  setInterval(refreshBadges, EVERY_MS);
  window.addEventListener("focus", refreshBadges);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refreshBadges();
  });
  session.onChange(refreshBadges);
  onRoute(refreshBadges);
  refreshBadges();
}
