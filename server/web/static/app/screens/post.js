// One post with its comments: where a shared link (/app/@user/123) lands. A video fills the
// screen beside its comments; a comment shows as text, with a link to what it answers.

import { get } from "../api.js";
import { displayName, h, serverHtml, timeAgo } from "../dom.js";
import { session } from "../session.js";
import { openReport } from "../ui/report.js";
import { reel, videoOf } from "../ui/reel.js";
import { thread } from "../ui/thread.js";

export default async function show(ctx) {
  const status = await get(`/api/v1/statuses/${encodeURIComponent(ctx.params.id)}`);
  const shown = status.reblog ?? status;
  const heading = h("h1", { class: "visually-hidden", text: `Post by @${shown.account.acct}` });
  if (!videoOf(shown)) {
    ctx.root.className = "";
    ctx.root.append(h("section", { class: "screen" }, heading,
      h("article", { class: "text-post" },
        h("p", {}, h("a", { href: `/app/@${shown.account.acct}`, text: displayName(shown.account) }), " ", timeAgo(shown.created_at)),
        serverHtml(shown.content),
        shown.in_reply_to_id ? h("p", {}, h("a", { href: `/app/@${shown.account.acct}/${shown.in_reply_to_id}`, text: "In reply to this post" })) : null,
        session.isMe(shown.account) ? null : h("button", { type: "button", class: "link-button", text: "Report", "aria-label": `Report this post by @${shown.account.acct}`,
          on: { click: () => openReport(`this post by @${shown.account.acct}`, shown.account, { account_id: shown.account.id, status_ids: [shown.id] }) } })),
      h("h2", { text: "Replies" }), thread(shown)));
    return;
  }
  const card = reel(status);
  ctx.root.append(h("section", { class: "post-screen" }, heading,
    h("div", { class: "post-video" }, card.element),
    h("div", { class: "post-comments" }, h("h2", { text: "Comments" }), thread(card.status))));
  card.activate();
  ctx.onLeave(() => card.unload());
}
