// Unread counts on the navigation: requests to use my cameos that wait for my answer, and
// notifications newer than where I stopped reading (Mastodon's markers, so every app of mine
// agrees). The counts are asked for again on each notification the streaming API brings, when
// the window comes back into view, and on every change of screen; while the stream is broken,
// every 30 s instead.

import { get, post } from "../api.js";
import { onRoute } from "../router.js";
import { session } from "../session.js";
import { OWN_TYPES, onStreamState, subscribe } from "../stream.js";

const EVERY_MS = 30_000;
const MAX = 40; // more unread than this reads "40+"
const listeners = new Set();

// The count for each navigation link, by its href.
export const badges = { "/app/consent": 0, "/app/notifications": 0 };

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
  let polling = null;
  const pollUnlessStreaming = (open) => {
    clearInterval(polling);
    polling = open ? null : setInterval(refreshBadges, EVERY_MS);
  };
  subscribe("user:notification", {}, (event) => {
    if (event === "notification") refreshBadges();
  });
  onStreamState((open) => {
    pollUnlessStreaming(open);
    if (open) refreshBadges(); // what came while the stream was broken
  });
  pollUnlessStreaming(false);
  window.addEventListener("focus", refreshBadges);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refreshBadges();
  });
  session.onChange(refreshBadges);
  onRoute(refreshBadges);
  refreshBadges();
}
