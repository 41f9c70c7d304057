// What the admin screens share: their heading and the list of sections (moderators see theirs,
// admins every one), and small helpers for buttons that call the API.

import { announce, errorLine, h, timeAgo } from "../dom.js";
import { session } from "../session.js";

// `admin`: for admins only (the API answers 403 to a moderator). routes.js marks the same.
export const SECTIONS = [
  { href: "/app/admin/reports", label: "Reports", match: /^\/app\/admin\/reports/ },
  { href: "/app/admin/generations", label: "Held videos" },
  { href: "/app/admin/accounts", label: "Users", match: /^\/app\/admin\/accounts/ },
  { href: "/app/admin/domains", label: "Domain rules", admin: true },
  { href: "/app/admin/prompts", label: "Prompt policy", admin: true },
];

// The screen's section: its title, the sections' tabs, an intro line and a line for errors
// from the API that are about the whole screen. Returns { section, heading, problem }.
export function adminScreen(ctx, title, intro) {
  const path = location.pathname;
  const heading = h("h1", { text: title });
  const problem = errorLine();
  const tabs = h("nav", { class: "admin-tabs", "aria-label": "Admin sections" },
    SECTIONS.filter((s) => !s.admin || session.isAdmin()).map((s) => h("a", {
      href: s.href, text: s.label,
      "aria-current": (s.match ? s.match.test(path) : path === s.href) ? "page" : null,
    })));
  const section = h("section", { class: "screen admin" }, tabs, heading,
    intro ? h("p", { class: "hint", text: intro }) : null, problem);
  ctx.root.append(section);
  return { section, heading, problem };
}

// Runs `fn` for a button: busy while it runs, its error shown in `problem` (an errorLine) or
// announced, and the success message announced. Resolves to fn's result, or undefined.
export async function run(button, problem, fn, done) {
  if (button?.getAttribute("aria-busy") === "true") return undefined;
  button?.setAttribute("aria-busy", "true");
  if (problem) problem.textContent = "";
  try {
    const result = await fn();
    if (done) announce(done);
    return result;
  } catch (error) {
    if (problem) problem.textContent = error.message;
    else announce(error.message);
    return undefined;
  } finally {
    button?.removeAttribute("aria-busy");
  }
}

// A <select> of [value, label] pairs.
export function select(name, options, selected) {
  return h("select", { name }, options.map(([value, label]) =>
    h("option", { value, text: label, selected: value === selected ? true : null })));
}

// A small label for a state ("Suspended", "Open"...), styled by its kind.
export const tag = (text, kind = "") => h("span", { class: `tag ${kind}`.trim(), text });

// A <table> with a caption, column headings and rows of cells (nodes or text). On a phone the
// table scrolls sideways inside its frame rather than widening the page.
export function table(caption, headings, rows) {
  return h("div", { class: "table-frame", tabindex: "0", role: "region", "aria-label": caption },
    h("table", { class: "admin-table" },
      h("caption", { class: "visually-hidden", text: caption }),
      h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col", text })))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell)))))));
}

// The handle of an Admin::Account or Account: @name here, @name@domain elsewhere.
export const handleOf = (account) => `@${account.acct ?? (account.domain ? `${account.username}@${account.domain}` : account.username)}`;

// What each kind of audit entry says was done.
const ACTION_NAMES = {
  assign_to_self: "assigned it to themselves", unassign: "unassigned it", resolve: "resolved it", reopen: "reopened it",
  none: "took no action on the account", sensitive: "marked the account's media sensitive", disable: "disabled the login",
  silence: "limited the account", suspend: "suspended the account", unsuspend: "lifted the suspension",
  unsilence: "lifted the limit", unsensitive: "lifted the sensitive mark", enable: "enabled the login",
  hide: "hid a post", unhide: "showed a post again", delete: "deleted", pause: "paused a cameo",
};

function describe(entry, withReport) {
  if (entry.action === "change_role") return `changed the role from ${entry.old_role} to ${entry.new_role}`;
  const on = entry.target_type === "status" ? ` (post ${entry.status_id})` : entry.target_type === "cameo" ? ` (cameo ${entry.cameo_id})` : "";
  return `${ACTION_NAMES[entry.action] ?? entry.action}${on}${withReport && entry.report_id ? ` (report #${entry.report_id})` : ""}`;
}

// An audit log as the admin API gives it (a report's, or an account's with `withReport` naming
// the report of each entry): who did what, when, and their note.
export function auditLog(entries, withReport = false) {
  if (!entries?.length) return h("p", { class: "hint", text: "Nothing done yet." });
  return h("ol", { class: "audit" }, entries.map((entry) => h("li", {},
    h("p", { class: "comment-line" }, h("strong", { text: entry.moderator ? `@${entry.moderator}` : "The command line" }),
      ` ${describe(entry, withReport)} `, timeAgo(entry.created_at)),
    entry.text ? h("p", { class: "hint", text: entry.text }) : null)));
}
