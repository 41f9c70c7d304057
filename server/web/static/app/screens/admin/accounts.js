// Users (moderators and admins): every account this server knows, here or elsewhere, searched by
// name and filtered by where they are, their state and their role. Each opens on its own page
// (account.js) with the actions.

import { get } from "../../api.js";
import { append, displayName, field, h, timeAgo } from "../../dom.js";
import { navigate } from "../../router.js";
import { adminScreen, handleOf, run, select, tag } from "../../ui/admin.js";

// Mastodon's account actions, as the forms offer them (`disable` only for a local account).
export const ACCOUNT_ACTIONS = [
  ["none", "None: only note it"],
  ["sensitive", "Mark their media sensitive"],
  ["disable", "Disable the login"],
  ["silence", "Limit: out of public timelines"],
  ["suspend", "Suspend"],
];

export const ROLES = [["user", "User"], ["moderator", "Moderator"], ["admin", "Admin"]];

// The state of an Admin::Account as small labels.
export function accountTags(account) {
  return [
    account.role && account.role.name !== "user" ? tag(account.role.name === "admin" ? "Admin" : "Moderator") : null,
    account.suspended ? tag("Suspended", "suspended") : null,
    account.silenced ? tag("Limited", "silenced") : null,
    account.disabled ? tag("Login disabled", "danger") : null,
    account.sensitized ? tag("Sensitive media", "warn") : null,
  ];
}

const PAGE = 40;
const ORIGINS = [["", "Anywhere"], ["local", "Here"], ["remote", "Other servers"]];
const STATES = [["", "Any state"], ["active", "Active"], ["suspended", "Suspended"], ["silenced", "Limited"], ["disabled", "Login disabled"]];

export default async function show(ctx) {
  const { section, problem } = adminScreen(ctx, "Users", "Everyone this server knows: its own people and those of other servers.");
  const q = ctx.query;
  const username = h("input", { type: "search", name: "username", value: q.get("username") ?? "", autocapitalize: "none",
    spellcheck: "false", placeholder: "Start of a user name" });
  const origin = select("origin", ORIGINS, q.get("origin") ?? "");
  const state = select("state", STATES, q.get("state") ?? "");
  const staff = h("input", { type: "checkbox", name: "staff", checked: q.get("staff") === "true" });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Find users" },
    field("Name", username), field("Where", origin), field("State", state),
    h("label", { class: "check" }, staff, " Staff only"),
    h("button", { type: "submit", class: "button", text: "Search" }));
  // The filters live in the address, so a search can be shared and Back returns to it.
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (username.value.trim()) query.set("username", username.value.trim().replace(/^@/, ""));
    if (origin.value) query.set("origin", origin.value);
    if (state.value) query.set("state", state.value);
    if (staff.checked) query.set("staff", "true");
    navigate(`/app/admin/accounts${query.size ? `?${query}` : ""}`);
  });
  const list = h("ul", { class: "cards", "aria-label": "Users found" });
  const older = h("button", { type: "button", class: "button", text: "More", hidden: true });
  section.append(form, list, older);

  let lastId = null;
  async function load() {
    const query = new URLSearchParams({ limit: PAGE });
    if (q.get("username")) query.set("username", q.get("username"));
    if (q.get("origin")) query.set(q.get("origin"), "true");
    if (q.get("state")) query.set(q.get("state"), "true");
    if (q.get("staff") === "true") query.set("staff", "true");
    if (lastId) query.set("max_id", lastId);
    const accounts = await get(`/api/v1/admin/accounts?${query}`);
    if (ctx.signal.aborted) return;
    list.append(...accounts.map(row));
    lastId = accounts.at(-1)?.id ?? lastId;
    older.hidden = accounts.length < PAGE;
    if (!list.children.length) list.append(h("li", { class: "hint", text: "Nobody matches." }));
  }
  older.addEventListener("click", () => run(older, problem, load));
  await load();
}

function row(account) {
  return append(h("li", { class: "user-row", "data-id": account.id }), [
    h("h2", {}, h("a", { href: `/app/admin/accounts/${account.id}` },
      h("span", { text: displayName(account.account) }), h("span", { class: "acct", text: ` ${handleOf(account)}` }))),
    h("p", { class: "summary" }, accountTags(account), h("span", { class: "hint" }, "joined ", timeAgo(account.created_at))),
  ]);
}
