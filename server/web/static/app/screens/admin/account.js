// One user (moderators and admins): who they are, their state, an action with a note (suspend,
// limit, disable the login, mark media sensitive), undoing each, for admins their role, and the
// audit log of what staff did to the account (newest first).

import { get, post } from "../../api.js";
import { append, displayName, errorLine, field, h, timeAgo } from "../../dom.js";
import { session } from "../../session.js";
import { adminScreen, auditLog, handleOf, run, select } from "../../ui/admin.js";
import { ACCOUNT_ACTIONS, ROLES, accountTags } from "./accounts.js";

// What undoes a state, and how its button reads.
const UNDO = [
  ["suspended", "unsuspend", "Lift the suspension"],
  ["silenced", "unsilence", "Lift the limit"],
  ["disabled", "enable", "Enable the login"],
  ["sensitized", "unsensitive", "Lift the sensitive mark"],
];

export default async function show(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  const { section, heading, problem } = adminScreen(ctx, "User");
  const body = h("div");
  section.append(body);

  async function load() {
    draw(await get(`/api/v1/admin/accounts/${id}`));
  }

  function draw(account) {
    const local = !account.domain;
    heading.textContent = `${displayName(account.account)} (${handleOf(account)})`;
    const undo = UNDO.filter(([flag]) => account[flag]).map(([, type, label]) => {
      const button = h("button", { type: "button", class: "button", text: label });
      button.addEventListener("click", () => run(button, problem, async () => {
        draw(await post(`/api/v1/admin/accounts/${id}/${type}`));
      }, `${label}: done`));
      return button;
    });
    body.replaceChildren();
    append(body, [
      h("p", { class: "summary" }, accountTags(account)),
      h("dl", { class: "facts" },
        h("dt", { text: "Handle" }), h("dd", { text: handleOf(account) }),
        local ? [h("dt", { text: "Email" }), h("dd", { text: account.email ?? "" })] : [h("dt", { text: "Server" }), h("dd", { text: account.domain })],
        h("dt", { text: "Role" }), h("dd", { text: local ? (ROLES.find(([r]) => r === account.role?.name)?.[1] ?? account.role?.name ?? "User") : "Another server's" }),
        h("dt", { text: "Known since" }), h("dd", {}, timeAgo(account.created_at))),
      h("p", {}, h("a", { href: `/app/@${account.account.acct}`, text: "Profile" }), " · ",
        h("a", { href: `/app/admin/reports?account_id=${account.id}`, text: "Open reports on this account" }), " · ",
        h("a", { href: `/app/admin/reports?account_id=${account.id}&resolved=true`, text: "Resolved ones" })),
      undo.length ? [h("h2", { text: "Undo" }), h("div", { class: "card-actions start" }, undo)] : null,
      actionForm(account),
      local && session.isAdmin() ? roleForm(account) : null,
      h("h2", { text: "Audit log" }),
      auditLog(account.actions, true),
    ]);
  }

  function actionForm(account) {
    const local = !account.domain;
    const options = ACCOUNT_ACTIONS.filter(([type]) => type !== "none" && (local || type !== "disable"));
    const type = select("type", options, "silence");
    const text = h("textarea", { name: "text", rows: 3, maxlength: 2000 });
    const formProblem = errorLine();
    const submit = h("button", { type: "submit", class: "button danger", text: "Apply" });
    const form = h("form", { class: "stack panel", "aria-label": "Act on this account" },
      h("h2", { text: "Act on this account" }),
      field("Action", type), field("Note", text, "Kept in the audit log and told to the person with the warning."),
      formProblem, submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const label = options.find(([value]) => value === type.value)[1];
      if (!confirm(`${label}: ${handleOf(account)}?`)) return;
      run(submit, formProblem, async () => {
        draw(await post(`/api/v1/admin/accounts/${id}/action`, { type: type.value, text: text.value }));
      }, `${label}: done`);
    });
    return form;
  }

  function roleForm(account) {
    const role = select("role", ROLES, account.role?.name ?? "user");
    const formProblem = errorLine();
    const submit = h("button", { type: "submit", class: "button", text: "Save role" });
    const form = h("form", { class: "stack panel", "aria-label": "Role" },
      h("h2", { text: "Role" }),
      field("Role", role, "Moderators handle reports, users and held videos; admins also the domain rules, the prompt policy and roles."),
      formProblem, submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(submit, formProblem, async () => {
        draw(await post(`/api/v1/admin/accounts/${id}/role`, { role: role.value }));
      }, "Role saved");
    });
    return form;
  }

  await load();
}
