// Notifications: follows, likes, boosts, replies, and everything about cameos and consent.

import { page } from "../api.js";
import { displayName, h, serverHtml, timeAgo } from "../dom.js";

const WHAT = {
  follow: ["followed you"],
  follow_request: ["asks to follow you"],
  favourite: ["liked your video"],
  reblog: ["boosted your video"],
  mention: ["mentioned you"],
  reply: ["replied to you"],
  quote: ["quoted your video"],
  remix_request: ["asks to use your cameo", "/app/consent", "Answer"],
  remix_use: ["used your cameo", "/app/consent", "See uses"],
  cameo_used: ["made a video with your cameo", "/app/consent", "See uses"],
  remix_authorized: ["said yes to your remix", "/app/drafts", "Your drafts"],
  remix_rejected: ["said no to your remix"],
  remix_revoked: ["withdrew consent for your remix"],
};

export default async function show(ctx) {
  const list = h("ol", { class: "notifications" });
  const more = h("button", { type: "button", class: "button", text: "Older", hidden: true });
  ctx.root.append(h("section", { class: "screen" }, h("h1", { text: "Notifications" }), list, more));

  let next = "/api/v1/notifications?limit=30";
  const load = async () => {
    const { items, next: after } = await page(next);
    next = items.length ? after : null;
    more.hidden = !next;
    list.append(...items.map(item));
    if (!list.children.length) list.append(h("li", { class: "hint", text: "Nothing yet." }));
  };
  more.addEventListener("click", load);
  await load();
}

function item(notification) {
  const [text, href, linkText] = WHAT[notification.type] ?? [notification.type.replaceAll("_", " ")];
  const who = notification.account;
  const status = notification.status;
  return h("li", { class: "notification", "data-type": notification.type },
    h("p", {},
      who ? h("a", { href: `/app/@${who.acct}` }, h("strong", { text: displayName(who) })) : "Someone",
      ` ${text} `, timeAgo(notification.created_at)),
    status ? h("div", { class: "quoted" }, serverHtml(status.content),
      h("a", { href: `/app/@${status.account.acct}/${status.id}`, text: "Open" })) : null,
    href ? h("p", {}, h("a", { href, text: linkText })) : null);
}
