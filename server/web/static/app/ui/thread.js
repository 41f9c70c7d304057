// The comments under a video, with a box to reply to it or to any comment.

import { get, post } from "../api.js";
import { announce, displayName, errorLine, field, h, serverHtml, timeAgo } from "../dom.js";
import { session } from "../session.js";
import { openDialog } from "./dialog.js";
import { openReport } from "./report.js";

export function thread(status, { onCount } = {}) {
  const list = h("ol", { class: "comments" });
  const empty = h("p", { class: "hint", text: "No comments yet." });
  let replyTo = status;

  const text = h("textarea", { rows: 2, maxlength: 5000, required: true });
  const replying = h("p", { class: "replying", hidden: true });
  const problem = errorLine();
  const form = h("form", { class: "reply-form" },
    replying,
    field("Add a comment", text),
    problem,
    h("button", { type: "submit", class: "button primary", text: "Post comment" }));

  const replyToComment = (comment) => {
    replyTo = comment ?? status;
    replying.hidden = !comment;
    if (comment) {
      replying.replaceChildren(`Replying to @${comment.account.acct} `,
        h("button", { type: "button", class: "link-button", text: "Cancel", on: { click: () => replyToComment(null) } }));
      if (!text.value.includes(`@${comment.account.acct}`)) text.value = `@${comment.account.acct} ${text.value}`;
    }
    text.focus();
  };

  async function load() {
    const { descendants } = await get(`/api/v1/statuses/${status.id}/context`);
    const depth = new Map([[status.id, 0]]);
    list.replaceChildren(...descendants.map((comment) => {
      const level = Math.min(4, (depth.get(comment.in_reply_to_id) ?? 0) + 1);
      depth.set(comment.id, level);
      return h("li", { class: `comment depth-${level}` },
        h("p", { class: "comment-head" },
          h("a", { href: `/app/@${comment.account.acct}`, text: displayName(comment.account) }), " ",
          timeAgo(comment.created_at)),
        serverHtml(comment.content),
        session.token ? h("button", { type: "button", class: "link-button", text: "Reply",
          "aria-label": `Reply to ${displayName(comment.account)}`, on: { click: () => replyToComment(comment) } }) : null,
        session.token && !session.isMe(comment.account) ? h("button", { type: "button", class: "link-button", text: "Report",
          "aria-label": `Report ${displayName(comment.account)}'s comment`,
          on: { click: () => openReport(`@${comment.account.acct}'s comment`, comment.account,
            { account_id: comment.account.id, status_ids: [comment.id] }) } }) : null);
    }));
    empty.hidden = descendants.length > 0;
    onCount?.(descendants.length);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    try {
      await post("/api/v1/statuses", { status: text.value, in_reply_to_id: replyTo.id, visibility: status.visibility });
      text.value = "";
      replyToComment(null);
      await load();
      announce("Comment posted");
    } catch (error) {
      problem.textContent = error.message;
    }
  });

  const section = h("section", { class: "thread", "aria-label": "Comments" }, empty, list,
    session.token ? form : h("p", {}, h("a", { href: `/app/login?next=${encodeURIComponent(location.pathname)}`, text: "Sign in" }), " to comment."));
  load().catch((error) => { empty.hidden = false; empty.textContent = error.message; });
  return section;
}

export function openThread(status, options) {
  return openDialog("Comments", h("div", { class: "sheet-body" }, thread(status, options)));
}
