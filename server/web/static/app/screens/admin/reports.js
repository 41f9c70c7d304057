// The reports queue (moderators and admins): open or resolved reports, newest first, optionally
// about one account (?account_id=). Each opens on its own page (report.js).

import { get } from "../../api.js";
import { append, h, timeAgo } from "../../dom.js";
import { adminScreen, handleOf, run, tag } from "../../ui/admin.js";
import { REPORT_CATEGORIES } from "../../ui/report.js";

const PAGE = 20;

export default async function show(ctx) {
  const resolved = ctx.query.get("resolved") === "true";
  const accountId = ctx.query.get("account_id");
  const { section, problem } = adminScreen(ctx, "Reports",
    "What people here and other servers reported. Open one to see what was reported, act on it and resolve it.");
  const filter = (value) => {
    const query = new URLSearchParams(accountId ? { account_id: accountId } : {});
    if (value) query.set("resolved", "true");
    return `/app/admin/reports${query.size ? `?${query}` : ""}`;
  };
  const list = h("ul", { class: "cards" });
  const older = h("button", { type: "button", class: "button", text: "Older", hidden: true });
  append(section, [
    h("nav", { class: "switch", "aria-label": "Which reports" },
      h("a", { href: filter(false), text: "Open", "aria-current": resolved ? null : "page" }),
      h("a", { href: filter(true), text: "Resolved", "aria-current": resolved ? "page" : null })),
    accountId ? h("p", { class: "hint" }, "Only the reports on one account. ",
      h("a", { href: `/app/admin/reports${resolved ? "?resolved=true" : ""}`, text: "Show all" })) : null,
    list, older]);

  let lastId = null;
  async function load() {
    const query = new URLSearchParams({ limit: PAGE, resolved });
    if (accountId) query.set("account_id", accountId);
    if (lastId) query.set("max_id", lastId);
    const reports = await get(`/api/v1/admin/reports?${query}`);
    if (ctx.signal.aborted) return;
    list.append(...reports.map(card));
    lastId = reports.at(-1)?.id ?? lastId;
    older.hidden = reports.length < PAGE;
    if (!list.children.length) list.append(h("li", { class: "hint", text: resolved ? "No resolved report." : "No open report: all done." }));
  }
  older.addEventListener("click", () => run(older, problem, load));
  await load();
}

// Who sent a report: a person, another server, or this server itself (a held video).
export function reporterOf(report) {
  if (report.account) return handleOf(report.account.account ?? report.account);
  if (report.origin_domain) return `a moderator of ${report.origin_domain}`;
  return report.generation_id ? "the safety check (a held video)" : "this server";
}

export const categoryName = (category) => REPORT_CATEGORIES[category]?.[0] ?? category;

function card(report) {
  const target = report.target_account;
  const counts = [
    report.statuses?.length ? `${report.statuses.length} ${report.statuses.length === 1 ? "post" : "posts"}` : null,
    report.cameos?.length ? `${report.cameos.length} ${report.cameos.length === 1 ? "cameo" : "cameos"}` : null,
  ].filter(Boolean);
  return h("li", { class: "report-card", "data-id": report.id },
    h("h2", {}, h("a", { href: `/app/admin/reports/${report.id}`, text: `Report #${report.id} on ${handleOf(target.account ?? target)}` })),
    h("p", { class: "summary" },
      report.action_taken ? tag("Resolved", "resolved") : tag("Open", "open"),
      tag(categoryName(report.category)),
      counts.length ? h("span", { class: "hint", text: counts.join(", ") }) : null,
      report.assigned_account ? h("span", { class: "hint", text: `assigned to ${handleOf(report.assigned_account)}` }) : null),
    report.comment ? h("p", { class: "comment-line", text: report.comment }) : null,
    h("p", { class: "hint" }, `From ${reporterOf(report)} · `, timeAgo(report.created_at)));
}
