// A profile: who they are, follow or unfollow, their videos and the cameos others may use.
// Another server's account is filled from that server in the background when it is first looked
// at or followed: the screen says so and asks again for a while, until its posts are here.

import { findAccount, get, post } from "../api.js";
import { announce, count, displayName, h, serverHtml, sleep } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { requireSignIn } from "../ui/signin.js";
import { videoOf } from "../ui/reel.js";
import { cameoCard } from "../ui/cameo_card.js";
import { openReport } from "../ui/report.js";
import { openDeleteAccount } from "../ui/delete_account.js";

const REFRESH_MS = 2000;
const REFRESHES = 8;

export default async function show(ctx) {
  const account = await findAccount(ctx.params.acct);
  if (ctx.signal.aborted) return;
  const mine = session.isMe(account);
  const remote = account.acct.includes("@");
  const load = () => Promise.all([
    get(`/api/v1/accounts/${account.id}/statuses?limit=40`),
    get(`/api/v1/accounts/${account.id}/cameos`),
  ]);
  let [statuses, cameos] = await load();

  const postsCount = h("strong", { text: count(account.statuses_count) });
  const stats = h("p", { class: "stats" },
    h("span", {}, postsCount, " posts"),
    h("span", {}, h("strong", { class: "followers-count", text: count(account.followers_count) }), " followers"),
    h("span", {}, h("strong", { text: count(account.following_count) }), " following"));

  const videosList = h("div", { class: "profile-videos" });
  const cameosList = h("div", { class: "profile-cameos" });
  let drawn = null;
  const draw = (loading) => {
    // Only what changed is drawn again: a redraw would take the focus from a button in it.
    const shown = JSON.stringify([statuses.map((s) => s.id), cameos.map((c) => c.id), loading]);
    if (shown === drawn) return;
    drawn = shown;
    postsCount.textContent = count(Math.max(account.statuses_count, statuses.length));
    videosList.replaceChildren(videosOf(account, statuses, loading));
    cameosList.replaceChildren(cameosOf(account, cameos, mine, loading));
  };
  // Another server's account: its posts and cameos may be on their way (they are fetched when it
  // is first looked at, and its cameos again once followed), so ask again for a while.
  // A follow while it asks starts the count again.
  let remaining = 0;
  const refresh = async () => {
    if (!remote) return;
    const running = remaining > 0;
    remaining = REFRESHES;
    if (running) return;
    try {
      while (remaining > 0) {
        await sleep(REFRESH_MS, ctx.signal);
        if (ctx.signal.aborted) return;
        remaining -= 1;
        [statuses, cameos] = await load();
        draw(remaining > 0);
      }
    } catch {
      // The server did not answer: what is shown stays, without the promise of more.
      remaining = 0;
      draw(false);
    }
  };
  draw(remote);
  refresh();

  const actions = h("p", { class: "profile-actions" });
  if (mine) {
    actions.append(h("a", { class: "button primary", href: "/app/settings/profile", text: "Edit profile" }), " ",
      h("a", { class: "button", href: "/app/cameos", text: "Your cameos" }), " ",
      h("a", { class: "button", href: "/app/drafts", text: "Drafts" }), " ",
      h("a", { class: "button", href: "/app/settings/move", text: "Move account" }), " ",
      h("button", { type: "button", class: "button", text: "Sign out", on: { click: signOut } }), " ",
      h("button", { type: "button", class: "button", text: "Delete account", on: { click: openDeleteAccount } }));
  } else {
    actions.append(await followButton(account, refresh), " ",
      h("button", { type: "button", class: "button", text: "Report", "aria-label": `Report @${account.acct}`,
        on: { click: () => openReport(`@${account.acct}`, account, { account_id: account.id }) } }));
  }
  if (mine && session.isStaff()) actions.append(" ", h("a", { class: "button", href: "/app/admin", text: "Admin" }));

  ctx.root.append(h("section", { class: "screen profile" },
    h("img", { class: "profile-banner", src: account.header, alt: "" }),
    h("header", { class: "profile-head" },
      h("img", { class: "avatar large", src: account.avatar, alt: "", width: 96, height: 96 }),
      h("div", {},
        h("h1", { text: displayName(account) }),
        h("p", { class: "acct", text: `@${account.acct}` }),
        stats)),
    movedBanner(account),
    serverHtml(account.note, "content note"),
    actions,
    h("h2", { text: "Videos" }),
    videosList,
    h("h2", { text: "Cameos" }),
    cameosList));
}

// Mastodon's redirect: an account that moved points to the new one.
function movedBanner(account) {
  if (!account.moved) return null;
  return h("p", { class: "moved-banner", role: "status" }, `${displayName(account)} has moved to `,
    h("a", { href: `/app/@${account.moved.acct}`, text: `@${account.moved.acct}` }), ".");
}

function loadingHint(account) {
  return h("p", { class: "hint", role: "status", text: `Loading from ${account.acct.split("@")[1]}…` });
}

function videosOf(account, statuses, loading) {
  const videos = statuses.filter((s) => !s.reblog && videoOf(s));
  if (!videos.length) return loading ? loadingHint(account) : h("p", { class: "hint", text: "No videos yet." });
  return h("ul", { class: "grid" }, videos.map((status) => h("li", {},
    h("a", { class: "tile", href: `/app/@${account.acct}/${status.id}` },
      h("img", { src: videoOf(status).preview_url, alt: videoOf(status).description || "Video", loading: "lazy" }),
      status.ai_generated ? h("span", { class: "ai-label small", text: "AI-generated" }) : null,
      h("span", { class: "tile-count", text: `♥ ${count(status.favourites_count)}` })))));
}

function cameosOf(account, cameos, mine, loading) {
  if (!cameos.length) {
    if (loading) return loadingHint(account);
    return h("p", { class: "hint", text: mine ? "You have no cameos yet." : "No cameos others can use." });
  }
  return h("ul", { class: "cards" }, cameos.map((cameo) => h("li", {}, cameoCard(cameo, {
    action: h("div", { class: "card-actions" },
      h("a", { class: "button", href: `/app/compose?cameo=${encodeURIComponent(cameo.uri)}`,
        text: mine ? "Make a video" : "Ask to use in a remix" }),
      mine ? null : h("button", { type: "button", class: "button", text: "Report", "aria-label": `Report the cameo ${cameo.name}`,
        on: { click: () => openReport(`the cameo "${cameo.name}"`, account, { account_id: account.id, cameo_id: cameo.id }, { category: "likeness" }) } })),
  }))));
}

// `onFollow`: called once a follow is asked for.
async function followButton(account, onFollow) {
  let relation = { following: false, requested: false };
  if (session.token) [relation] = await get(`/api/v1/accounts/relationships?id[]=${account.id}`);
  const button = h("button", { type: "button", class: "button primary" });
  const draw = () => {
    button.textContent = relation.following ? "Unfollow" : relation.requested ? "Requested" : "Follow";
    button.setAttribute("aria-pressed", String(relation.following || relation.requested));
  };
  button.addEventListener("click", async () => {
    if (!requireSignIn()) return;
    const following = relation.following || relation.requested;
    try {
      relation = await post(`/api/v1/accounts/${account.id}/${following ? "unfollow" : "follow"}`);
      draw();
      announce(following ? `Unfollowed @${account.acct}` : `Following @${account.acct}`);
      if (!following) onFollow();
    } catch (error) {
      announce(error.message);
    }
  });
  draw();
  return button;
}

async function signOut() {
  try {
    await post("/oauth/revoke", { token: session.token });
  } finally {
    session.clear();
    navigate("/app/for-you");
  }
}
