// One report (moderators and admins): what was reported and by whom, the account's state, the
// reported posts and cameos with their actions, assigning, resolving with an action on the
// account and a note, reopening, and the report's audit log.

import { get, post } from "../../api.js";
import { append, displayName, errorLine, field, h, safeUrl, serverHtml, timeAgo } from "../../dom.js";
import { session } from "../../session.js";
import { adminScreen, auditLog, handleOf, run, select, tag } from "../../ui/admin.js";
import { videoOf } from "../../ui/reel.js";
import { categoryName, reporterOf } from "./reports.js";
import { ACCOUNT_ACTIONS, accountTags } from "./accounts.js";

const STATUS_ACTIONS = [["hide", "Hide"], ["unhide", "Unhide"], ["sensitive", "Mark sensitive"], ["delete", "Delete"]];
const CAMEO_ACTIONS = [["pause", "Pause"], ["delete", "Delete"]];

export default async function show(ctx) {
  const id = ctx.params.id;
  const { section, heading, problem } = adminScreen(ctx, `Report #${id}`);
  const body = h("div");
  section.append(body);

  async function load() {
    draw(await get(`/api/v1/admin/reports/${encodeURIComponent(id)}`));
  }

  // Every action reloads the report, so that its state and audit log show what happened.
  const act = (button, where, fn, done) => run(button, where, async () => {
    await fn();
    await load();
  }, done);

  function draw(report) {
    const target = report.target_account;
    const resolved = report.action_taken;
    const mine = report.assigned_account && session.me && report.assigned_account.id === session.me.id;
    heading.textContent = `Report #${report.id} on ${handleOf(target)}`;

    const moves = [];
    if (!resolved) {
      const assign = h("button", { type: "button", class: "button", text: mine ? "Unassign" : "Assign to me" });
      assign.addEventListener("click", () => act(assign, problem,
        () => post(`/api/v1/admin/reports/${report.id}/${mine ? "unassign" : "assign_to_self"}`), mine ? "Unassigned" : "Assigned to you"));
      moves.push(assign);
    } else {
      const reopen = h("button", { type: "button", class: "button", text: "Reopen" });
      reopen.addEventListener("click", () => act(reopen, problem, () => post(`/api/v1/admin/reports/${report.id}/reopen`), "Report reopened"));
      moves.push(reopen);
    }

    body.replaceChildren();
    append(body, [
      h("dl", { class: "facts" },
        h("dt", { text: "State" }), h("dd", {}, resolved
          ? [tag("Resolved", "resolved"), report.action_taken_by_account ? ` by ${handleOf(report.action_taken_by_account)}` : "", " ", timeAgo(report.action_taken_at)]
          : tag("Open", "open")),
        h("dt", { text: "Category" }), h("dd", { text: categoryName(report.category) }),
        h("dt", { text: "Reported by" }), h("dd", { text: reporterOf(report) }),
        h("dt", { text: "Sent" }), h("dd", {}, timeAgo(report.created_at), report.forwarded ? " · forwarded to the account's server" : ""),
        h("dt", { text: "Assigned to" }), h("dd", { text: report.assigned_account ? handleOf(report.assigned_account) : "nobody" })),
      report.comment ? [h("h2", { text: "Comment" }), h("blockquote", { text: report.comment })] : null,
      h("div", { class: "card-actions start" }, moves),

      h("h2", { text: "Account" }),
      h("div", { class: "user-row" },
        h("p", { class: "summary" },
          h("a", { href: `/app/@${target.account.acct}` }, h("strong", { text: displayName(target.account) }), ` ${handleOf(target)}`),
          accountTags(target)),
        h("p", {}, h("a", { href: `/app/admin/accounts/${target.id}`, text: "Moderate this account" }), " · ",
          h("a", { href: `/app/admin/reports?account_id=${target.id}`, text: "All reports on it" }))),

      report.statuses?.length ? [h("h2", { text: `Reported posts (${report.statuses.length})` }),
        h("ul", { class: "cards" }, report.statuses.map((status) => h("li", {}, reportedPost(report, status))))] : null,
      report.cameos?.length ? [h("h2", { text: `Reported cameos (${report.cameos.length})` }),
        h("ul", { class: "cards" }, report.cameos.map((cameo) => h("li", {}, reportedCameo(report, cameo))))] : null,
      report.generation_id ? h("p", {}, "A video the safety check held: ",
        h("a", { href: "/app/admin/generations", text: "see the held videos" })) : null,

      resolved ? null : resolveForm(report),

      h("h2", { text: "Audit log" }),
      auditLog(report.actions),
    ]);
  }

  function reportedPost(report, status) {
    const itemProblem = errorLine();
    const media = videoOf(status) ?? status.media_attachments?.[0];
    // Whether it is hidden, as far as this report's log tells (the Status entity does not say).
    const hidden = report.actions?.filter((a) => a.status_id === status.id && (a.action === "hide" || a.action === "unhide")).at(-1)?.action === "hide";
    const buttons = STATUS_ACTIONS.filter(([type]) => type !== (hidden ? "hide" : "unhide")).map(([type, label]) => {
      const button = h("button", { type: "button", class: `button small${type === "delete" ? " danger" : ""}`, text: label,
        "aria-label": `${label} post ${status.id}` });
      button.addEventListener("click", () => {
        if (type === "delete" && !confirm("Delete this post? It is deleted for everyone, on every server it reached.")) return;
        act(button, itemProblem, () => post(`/api/v1/admin/statuses/${status.id}/action`, { type, report_id: report.id }), `Post ${status.id}: ${label.toLowerCase()} done`);
      });
      return button;
    });
    return h("article", { class: "reported-post", "data-status-id": status.id },
      h("p", { class: "summary" }, h("span", { class: "hint" }, status.in_reply_to_id ? "A comment · " : media ? "A video · " : "A post · ", timeAgo(status.created_at)),
        status.sensitive ? tag("Sensitive", "warn") : null, hidden ? tag("Hidden", "danger") : null),
      media?.preview_url ? h("img", { class: "cameo-preview", src: media.preview_url, alt: media.description || "Video preview" }) : null,
      serverHtml(status.content),
      h("p", {}, h("a", { href: `/app/@${status.account.acct}/${status.id}`, text: "Open the post" }),
        safeUrl(status.url) && !status.url.startsWith(location.origin) ? [" · ", h("a", { href: status.url, target: "_blank", rel: "noopener noreferrer", text: "on its server" })] : null),
      itemProblem, h("div", { class: "card-actions" }, buttons));
  }

  function reportedCameo(report, cameo) {
    const itemProblem = errorLine();
    const buttons = cameo.deleted ? [] : CAMEO_ACTIONS.map(([type, label]) => {
      const button = h("button", { type: "button", class: `button small${type === "delete" ? " danger" : ""}`, text: label,
        "aria-label": `${label} the cameo ${cameo.name}` });
      button.addEventListener("click", () => {
        if (type === "delete" && !confirm(`Delete the cameo "${cameo.name}"? Its reference photos are erased.`)) return;
        act(button, itemProblem, () => post(`/api/v1/admin/cameos/${cameo.id}/action`, { type, report_id: report.id }), `Cameo ${cameo.name}: ${label.toLowerCase()} done`);
      });
      return button;
    });
    return h("article", { class: "reported-post" },
      h("p", { class: "summary" }, h("strong", { text: cameo.name }),
        cameo.deleted ? tag("Deleted", "danger") : cameo.paused ? tag("Paused", "warn") : null),
      h("p", {}, h("a", { href: `/app/@${report.target_account.account.acct}`, text: "The owner's cameos" })),
      itemProblem, buttons.length ? h("div", { class: "card-actions" }, buttons) : null);
  }

  function resolveForm(report) {
    const target = report.target_account;
    const local = !target.domain;
    const options = ACCOUNT_ACTIONS.filter(([type]) => local || type !== "disable");
    const action = select("type", options, "none");
    const text = h("textarea", { name: "text", rows: 3, maxlength: 2000 });
    const formProblem = errorLine();
    const submit = h("button", { type: "submit", class: "button primary", text: "Resolve" });
    const form = h("form", { class: "stack panel", "aria-label": "Resolve this report" },
      h("h2", { text: "Resolve" }),
      field("Action on the account", action, "Actions on single posts or cameos are above, next to each."),
      field("Note", text, "Kept in the audit log; the account's owner is told with a warning for any action but none."),
      formProblem, submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const type = action.value;
      if (type === "suspend" && !confirm(`Suspend ${handleOf(target)}? ${local ? "They cannot sign in and their posts are gone from every timeline." : "Their posts are hidden and follows with them end."}`)) return;
      act(submit, formProblem, () => (type === "none" && !text.value.trim()
        ? post(`/api/v1/admin/reports/${report.id}/resolve`)
        : post(`/api/v1/admin/accounts/${target.id}/action`, { type, report_id: report.id, text: text.value })),
      "Report resolved");
    });
    return form;
  }

  await load();
}
