// Prompt policy (admins): the terms added to the policy's lists, by category; the refusal log;
// the accounts flagged as public figures.

import { del, findAccount, get, post } from "../../api.js";
import { displayName, errorLine, field, h, timeAgo } from "../../dom.js";
import { adminScreen, handleOf, run, select, table } from "../../ui/admin.js";

export const CATEGORIES = {
  sexual: "Sexual content",
  minors: "Sexualised minors",
  violence: "Graphic violence",
  self_harm: "Self-harm",
  hate: "Hate",
  harassment: "Harassment",
  public_figure: "Public figures",
  override: "Instruction overrides",
  instructions: "Cameo instructions",
};
const TERM_CATEGORIES = Object.keys(CATEGORIES).filter((c) => c !== "instructions");
const REFUSALS_PAGE = 40;

export default async function show(ctx) {
  const { section, problem } = adminScreen(ctx, "Prompt policy",
    "Every prompt is checked before anything is made. Terms added here refuse prompts that use them, on top of the built-in lists.");
  const terms = h("div", { class: "term-groups" });
  const refusals = h("div");
  const olderRefusals = h("button", { type: "button", class: "button", text: "Older refusals", hidden: true });
  const figures = h("ul", { class: "cards" });
  section.append(
    h("h2", { id: "terms-heading", tabindex: "-1", text: "Added terms" }), termForm(), terms,
    h("h2", { text: "Refusal log" }),
    h("p", { class: "hint", text: "Refused prompts are not kept, only their digest: the rule and the term say why." }),
    refusals, olderRefusals,
    h("h2", { text: "Public figures" }),
    h("p", { class: "hint", text: "Prompts that name them are refused unless their own cameo is used, with their consent." }),
    figureForm(), figures);

  // --- terms ---
  let allTerms = [];
  function drawTerms() {
    const byCategory = Map.groupBy(allTerms, (t) => t.category);
    terms.replaceChildren(...TERM_CATEGORIES.filter((c) => byCategory.has(c)).map((category) => {
      const list = byCategory.get(category).toSorted((a, b) => a.term.localeCompare(b.term));
      return h("section", { class: "term-group", "aria-label": CATEGORIES[category] },
        h("h3", { text: `${CATEGORIES[category]} (${list.length})` }),
        h("ul", { class: "chips" }, list.map((term) => {
          const name = `Remove "${term.term}" from ${CATEGORIES[category]}`;
          const remove = h("button", { type: "button", class: "chip-remove", "aria-label": name, title: name, text: "×" });
          remove.addEventListener("click", () => run(remove, problem, async () => {
            await del(`/api/v1/admin/prompt_terms/${term.id}`);
            allTerms = allTerms.filter((t) => t.id !== term.id);
            drawTerms();
            document.getElementById("terms-heading").focus();
          }, `"${term.term}" removed`));
          return h("li", { class: "chip" }, h("span", { text: term.term }), remove);
        })));
    }));
    if (!allTerms.length) terms.append(h("p", { class: "hint", text: "No terms added: only the built-in lists apply." }));
  }

  function termForm() {
    const category = select("category", TERM_CATEGORIES.map((c) => [c, CATEGORIES[c]]), "sexual");
    const term = h("input", { name: "term", required: true, maxlength: 100, autocapitalize: "none" });
    const formProblem = errorLine();
    const submit = h("button", { type: "submit", class: "button primary", text: "Add term" });
    const form = h("form", { class: "stack panel", "aria-label": "Add a term" },
      h("div", { class: "inline-form wrap" }, field("Category", category), field("Term", term, "A word or phrase; end with * for a prefix."), submit),
      formProblem);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(submit, formProblem, async () => {
        const added = await post("/api/v1/admin/prompt_terms", { category: category.value, term: term.value });
        allTerms.push(added);
        drawTerms();
        term.value = "";
        term.focus();
      }, "Term added");
    });
    return form;
  }

  // --- refusals ---
  let refusalRows = [];
  let lastRefusal = null;
  async function loadRefusals() {
    const rows = await get(`/api/v1/admin/prompt_refusals?limit=${REFUSALS_PAGE}${lastRefusal ? `&max_id=${lastRefusal}` : ""}`);
    refusalRows = refusalRows.concat(rows);
    lastRefusal = rows.at(-1)?.id ?? lastRefusal;
    olderRefusals.hidden = rows.length < REFUSALS_PAGE;
    refusals.replaceChildren(refusalRows.length ? table("Refused prompts", ["When", "Who", "Where", "Category", "Rule", "Term", "Prompt"],
      refusalRows.map((r) => [
        timeAgo(r.created_at),
        r.account_id ? h("a", { href: `/app/admin/accounts/${r.account_id}`, text: shortUri(r.account_uri) }) : shortUri(r.account_uri),
        r.source, CATEGORIES[r.category] ?? r.category, h("code", { text: r.rule }), r.term ? h("code", { text: r.term }) : "",
        h("span", { title: r.prompt_digest, text: `${r.prompt_chars} characters` }),
      ])) : h("p", { class: "hint", text: "No prompt was refused." }));
  }
  olderRefusals.addEventListener("click", () => run(olderRefusals, problem, loadRefusals));

  // --- public figures ---
  function figureItem(account) {
    const li = h("li", { class: "rule", "data-id": account.id });
    const remove = h("button", { type: "button", class: "button danger", text: "Unflag", "aria-label": `Unflag ${handleOf(account)}` });
    remove.addEventListener("click", () => run(remove, problem, async () => {
      await del(`/api/v1/admin/accounts/${account.id}/public_figure`);
      li.remove();
      if (!figures.children.length) figures.append(h("li", { class: "hint empty", text: "No account is flagged." }));
    }, `${handleOf(account)} is no longer flagged`));
    li.append(h("div", { class: "rule-head" },
      h("a", { href: `/app/@${account.acct}` }, h("strong", { text: displayName(account) }), ` ${handleOf(account)}`), remove));
    return li;
  }

  function figureForm() {
    const handle = h("input", { name: "handle", required: true, autocapitalize: "none", placeholder: "@name or @name@server" });
    const formProblem = errorLine();
    const submit = h("button", { type: "submit", class: "button", text: "Flag" });
    const form = h("form", { class: "stack" }, h("div", { class: "inline-form" }, field("Flag an account as a public figure", handle), submit), formProblem);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(submit, formProblem, async () => {
        const account = await findAccount(handle.value);
        const flagged = await post(`/api/v1/admin/accounts/${account.id}/public_figure`);
        figures.querySelector(".empty")?.remove();
        figures.querySelector(`[data-id="${CSS.escape(flagged.id)}"]`)?.remove();
        figures.prepend(figureItem(flagged));
        handle.value = "";
      }, "Flagged as a public figure");
    });
    return form;
  }

  async function loadFigures() {
    const accounts = await get("/api/v1/admin/public_figures");
    figures.replaceChildren(...accounts.map(figureItem));
    if (!accounts.length) figures.append(h("li", { class: "hint empty", text: "No account is flagged." }));
  }

  await Promise.all([
    get("/api/v1/admin/prompt_terms").then((rows) => { allTerms = rows; drawTerms(); }),
    loadRefusals(), loadFigures()]);
}

// An actor's URL shown short: its host and path.
function shortUri(uri) {
  try {
    const url = new URL(uri);
    return `${url.host}${url.pathname}`;
  } catch {
    return uri ?? "unknown";
  }
}
