// Notifications: follows, likes, boosts, replies, everything about cameos and consent, and what
// moderators did. Each reads as a sentence: who (when someone did it), what, and a link to it.

import { page } from "../api.js";
import { displayName, h, serverHtml, timeAgo } from "../dom.js";
import { session } from "../session.js";
import { markNotificationsRead } from "../ui/badges.js";
import { OWN_TYPES } from "../stream.js";

// What someone did, by type: the words after their name, the sentence when nobody is named (the
// account is gone, or the answer came from a server that did not say who), and where to go.
const DONE = {
  follow: () => ["followed you", "You have a new follower"],
  follow_request: () => ["asks to follow you", "You have a new follow request"],
  favourite: (n) => [`liked your ${kind(n.status)}`, `Your ${kind(n.status)} was liked`],
  reblog: (n) => [`boosted your ${kind(n.status)}`, `Your ${kind(n.status)} was boosted`],
  // Mastodon tells a reply as a mention: one that answers my post is a reply to me.
  mention: (n) => (session.me && n.status?.in_reply_to_account_id === session.me.id
    ? ["replied to you", "You have a new reply"] : ["mentioned you", "You were mentioned"]),
  quote: (n) => [`quoted your ${kind(n.status)}`, `Your ${kind(n.status)} was quoted`],
  update: (n) => [`edited a ${kind(n.status)} you boosted`, `A ${kind(n.status)} you boosted was edited`],
  remix_request: () => ["asks to use your cameo in a video", "A request to use your cameo is waiting",
    "/app/consent", "Answer in your consent inbox"],
  remix_use: () => ["is making a video with your cameo, as your rules allow",
    "Your cameo is in a new video, as your rules allow", "/app/consent", "See the uses of your cameos"],
  cameo_used: () => ["made a video with your cameo", "A video was made with your cameo",
    "/app/consent", "See the uses of your cameos"],
  remix_authorized: () => ["said yes to your remix", "Your remix was approved", "/app/drafts", "See your drafts"],
  remix_rejected: () => ["said no to your remix: it will not be made", "Your remix was refused: it will not be made"],
  remix_revoked: () => ["withdrew consent for your remix: its video was deleted",
    "Consent for your remix was withdrawn: its video was deleted"],
  shutdown_notice: () => ["", "This server is closing down: your archive is being built for you",
    "/app/settings/archive", "Download your archive"],
};

// What a moderator did to the person's account, post or cameo (Mastodon's AccountWarning.action).
const WARNED = {
  sensitive: "A moderator marked your account as sensitive",
  disable: "A moderator disabled your account",
  silence: "A moderator limited your account: only your followers see your posts",
  suspend: "A moderator suspended your account",
  hide_statuses: "A moderator hid your post",
  delete_statuses: "A moderator deleted your post",
  mark_statuses_as_sensitive: "A moderator marked your post as sensitive",
  pause_cameo: "A moderator paused your cameo",
  delete_cameo: "A moderator removed your cameo",
};

export default async function show(ctx) {
  const list = h("ol", { class: "notifications" });
  const more = h("button", { type: "button", class: "button", text: "Older", hidden: true });
  ctx.root.append(h("section", { class: "screen" }, h("h1", { text: "Notifications" }), list, more));

  let next = `/api/v1/notifications?limit=30&${OWN_TYPES}`;
  let newest = null;
  const load = async () => {
    const { items, next: after } = await page(next);
    newest ??= items[0]?.id ?? null;
    next = items.length ? after : null;
    more.hidden = !next;
    list.append(...items.map(item));
    if (!list.children.length) list.append(h("li", { class: "hint", text: "Nothing yet." }));
  };
  more.addEventListener("click", load);
  await load();
  // Seen, so no longer unread; should the server not hear it, the badge stays until next time.
  if (newest) markNotificationsRead(newest).catch(() => {});
}

function item(notification) {
  const [sentence, href, linkText, note] = words(notification);
  const status = notification.status;
  return h("li", { class: "notification", "data-type": notification.type },
    h("p", { class: "sentence" }, sentence, " ", timeAgo(notification.created_at)),
    note ? h("blockquote", { class: "quoted note", text: note }) : null,
    status ? h("div", { class: "quoted" }, serverHtml(status.content),
      h("a", { href: postPath(status), text: `Open the ${kind(status)}` })) : null,
    href ? h("p", {}, h("a", { href, text: linkText })) : null);
}

// [the sentence (text and links), a link, its text, a note quoted under it].
function words(notification) {
  if (notification.type === "moderation_warning") return warning(notification.moderation_warning);
  if (notification.type === "admin.report") return newReport(notification.account, notification.report);
  if (notification.type === "report_resolved") {
    const report = notification.report;
    return [["Your report about ", person(report.target_account), " was looked at and resolved."]];
  }
  const who = notification.account;
  const done = DONE[notification.type];
  if (!done) return [[who ? [person(who), " sent you "] : "You have ", "a notification this app cannot show yet."]];
  const [text, unnamed, ...link] = done(notification);
  return [who ? [person(who), ` ${text}.`] : `${unnamed}.`, ...link];
}

function warning(warned) {
  const sentence = `${WARNED[warned?.action] ?? "A moderator warned you"}.`;
  const note = warned?.text ? `The moderator's note: ${warned.text}` : null;
  const status = warned?.status_ids?.[0];
  const cameo = warned?.cameo_ids?.[0];
  if (status && warned.action !== "delete_statuses" && warned.target_account) {
    return [sentence, `/app/@${warned.target_account.acct}/${status}`, "See the post", note];
  }
  if (cameo && warned.action === "pause_cameo") return [sentence, `/app/cameos/${cameo}`, "See the cameo", note];
  return [sentence, null, null, note];
}

// A report for staff: by a person here, by another server (its instance actor, a bot), or opened
// by this server itself (a held render), which has no reporter.
function newReport(reporter, report) {
  const target = person(report.target_account);
  const sentence = !reporter ? ["A new report about ", target, " waits."]
    : reporter.bot ? [`${serverOf(reporter)} sent a report about `, target, "."]
      : [person(reporter), " reported ", target, "."];
  return [sentence, `/app/admin/reports/${report.id}`, "Open the report", report.comment || null];
}

function person(account) {
  return h("a", { href: `/app/@${account.acct}` }, h("strong", { text: displayName(account) }));
}

// An instance actor's acct is user@its.domain.
const serverOf = (account) => account.acct.split("@")[1] ?? account.username;
const kind = (status) => (status?.in_reply_to_id ? "comment" : "video");
const postPath = (status) => `/app/@${status.account.acct}/${status.id}`;
