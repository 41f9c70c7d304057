// Moving an account, as Mastodon's settings do it. "Moving from a different account": the old
// account is named here as an alias first. "Moving to a different account": the new one must list
// this one as its alias; the password confirms, followers follow along, and this account then
// only points to the new one. A move can be made once in 30 days.

import { del, get, post } from "../api.js";
import { announce, errorLine, field, h, onSubmit, timeAgo } from "../dom.js";

function aliasList(aliases, onRemove) {
  if (!aliases.length) return h("p", { class: "hint", text: "No aliases." });
  return h("ul", { class: "alias-list" }, aliases.map((alias) => h("li", {},
    h("span", { text: alias.acct ? `@${alias.acct}` : alias.uri }), " ",
    h("button", { type: "button", class: "button", text: "Remove", "aria-label": `Remove the alias ${alias.acct || alias.uri}`,
      on: { click: () => onRemove(alias) } }))));
}

function movedNote(migration) {
  if (!migration.moved_to_uri) return null;
  const target = migration.moved_to;
  const name = target ? `@${target.acct}` : migration.moved_to_uri;
  return h("p", { class: "moved-banner", role: "status" }, "This account has moved to ",
    target ? h("a", { href: `/app/@${target.acct}`, text: name }) : name,
    migration.moved_at ? [" (", timeAgo(migration.moved_at), ")"] : null, ".");
}

export default async function show(ctx) {
  let [aliases, migration] = await Promise.all([get("/api/v1/account/aliases"), get("/api/v1/account/migration")]);
  if (ctx.signal.aborted) return;

  const listed = h("div", {});
  const drawAliases = () => listed.replaceChildren(aliasList(aliases, async (alias) => {
    try {
      aliases = await del(`/api/v1/account/aliases?acct=${encodeURIComponent(alias.uri)}`);
      drawAliases();
      announce("Alias removed");
    } catch (error) {
      announce(error.message);
    }
  }));
  drawAliases();
  const aliasInput = h("input", { name: "acct", placeholder: "name@old.server", required: true, autocomplete: "off" });
  const aliasProblem = errorLine();
  const aliasSubmit = h("button", { type: "submit", class: "button primary", text: "Add alias" });
  const aliasForm = h("form", { class: "stack" },
    field("Handle of the old account", aliasInput, "The account you are moving from, as name@server."),
    aliasProblem, aliasSubmit);
  onSubmit(aliasForm, aliasSubmit, aliasProblem, async () => {
    const added = await post("/api/v1/account/aliases", { acct: aliasInput.value.trim() });
    aliases = [...aliases.filter((a) => a.uri !== added.uri), added];
    aliasInput.value = "";
    drawAliases();
    announce(`@${added.acct || added.uri} may now move here`);
  });

  const status = h("div", {});
  // Within the cooldown the form is not offered (Mastodon disables it).
  const drawStatus = () => {
    status.replaceChildren(movedNote(migration), migration.cooldown_until
      ? h("p", { class: "hint", text: `You can move again after ${new Date(migration.cooldown_until).toLocaleDateString()}.` })
      : null);
    moveForm.hidden = Boolean(migration.cooldown_until);
  };
  const target = h("input", { name: "acct", placeholder: "name@new.server", required: true, autocomplete: "off" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const moveProblem = errorLine();
  const moveSubmit = h("button", { type: "submit", class: "button danger", text: "Move my account" });
  const moveForm = h("form", { class: "stack" },
    field("Handle of the new account", target, "It must list this account as an alias first."),
    field("Password", password, "Your password, to confirm."),
    moveProblem, moveSubmit);
  drawStatus();
  onSubmit(moveForm, moveSubmit, moveProblem, async () => {
    migration = await post("/api/v1/account/migration", { acct: target.value.trim(), password: password.value });
    password.value = "";
    drawStatus();
    announce(`Your account has moved to @${migration.moved_to?.acct ?? target.value.trim()}`);
  });

  ctx.root.append(h("section", { class: "screen narrow" },
    h("h1", { text: "Move your account" }),
    h("h2", { text: "Moving from a different account" }),
    h("p", { class: "hint", text: "Before an account elsewhere can move here, name it as an alias of this one." }),
    listed, aliasForm,
    h("h2", { text: "Moving to a different account" }),
    h("p", { class: "hint", text: "Your followers here and on other servers follow the new account. This account stops posting and points to the new one. You can move once in 30 days." }),
    status, moveForm));
}
