// A profile: who they are, follow or unfollow, their videos and the cameos others may use.

import { findAccount, get, post } from "../api.js";
import { announce, count, displayName, h, serverHtml } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { requireSignIn } from "../ui/signin.js";
import { videoOf } from "../ui/reel.js";
import { cameoCard } from "../ui/cameo_card.js";
import { openReport } from "../ui/report.js";
import { openDeleteAccount } from "../ui/delete_account.js";

export default async function show(ctx) {
  const account = await findAccount(ctx.params.acct);
  if (ctx.signal.aborted) return;
  const mine = session.isMe(account);
  const [statuses, cameos] = await Promise.all([
    get(`/api/v1/accounts/${account.id}/statuses?limit=40`),
    get(`/api/v1/accounts/${account.id}/cameos`),
  ]);

  const stats = h("p", { class: "stats" },
    h("span", {}, h("strong", { text: count(account.statuses_count) }), " posts"),
    h("span", {}, h("strong", { class: "followers-count", text: count(account.followers_count) }), " followers"),
    h("span", {}, h("strong", { text: count(account.following_count) }), " following"));

  const actions = h("p", { class: "profile-actions" });
  if (mine) {
    actions.append(h("a", { class: "button", href: "/app/cameos", text: "Your cameos" }), " ",
      h("a", { class: "button", href: "/app/drafts", text: "Drafts" }), " ",
      h("button", { type: "button", class: "button", text: "Sign out", on: { click: signOut } }), " ",
      h("button", { type: "button", class: "button", text: "Delete account", on: { click: openDeleteAccount } }));
  } else {
    actions.append(await followButton(account), " ",
      h("button", { type: "button", class: "button", text: "Report", "aria-label": `Report @${account.acct}`,
        on: { click: () => openReport(`@${account.acct}`, account, { account_id: account.id }) } }));
  }
  if (mine && session.isStaff()) actions.append(" ", h("a", { class: "button", href: "/app/admin", text: "Admin" }));

  const videos = statuses.filter((s) => !s.reblog && videoOf(s));
  ctx.root.append(h("section", { class: "screen profile" },
    h("header", { class: "profile-head" },
      h("img", { class: "avatar large", src: account.avatar, alt: "", width: 96, height: 96 }),
      h("div", {},
        h("h1", { text: displayName(account) }),
        h("p", { class: "acct", text: `@${account.acct}` }),
        stats)),
    serverHtml(account.note, "content note"),
    actions,
    h("h2", { text: "Videos" }),
    videos.length
      ? h("ul", { class: "grid" }, videos.map((status) => h("li", {},
        h("a", { class: "tile", href: `/app/@${account.acct}/${status.id}` },
          h("img", { src: videoOf(status).preview_url, alt: videoOf(status).description || "Video", loading: "lazy" }),
          status.ai_generated ? h("span", { class: "ai-label small", text: "AI-generated" }) : null,
          h("span", { class: "tile-count", text: `♥ ${count(status.favourites_count)}` })))))
      : h("p", { class: "hint", text: "No videos yet." }),
    h("h2", { text: "Cameos" }),
    cameos.length
      ? h("ul", { class: "cards" }, cameos.map((cameo) => h("li", {}, cameoCard(cameo, {
        action: h("div", { class: "card-actions" },
          h("a", { class: "button", href: `/app/compose?cameo=${encodeURIComponent(cameo.uri)}`,
            text: mine ? "Make a video" : "Ask to use in a remix" }),
          mine ? null : h("button", { type: "button", class: "button", text: "Report", "aria-label": `Report the cameo ${cameo.name}`,
            on: { click: () => openReport(`the cameo "${cameo.name}"`, account, { account_id: account.id, cameo_id: cameo.id }, { category: "likeness" }) } })),
      }))))
      : h("p", { class: "hint", text: mine ? "You have no cameos yet." : "No cameos others can use." })));
}

async function followButton(account) {
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
