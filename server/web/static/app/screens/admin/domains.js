// Domain rules (admins): the federation mode, blocked domains with their severity and options,
// the allow list, and the blocks as Mastodon's CSV (download and upload).

import { blobUrl, del, get, page, post, put, request } from "../../api.js";
import { announce, append, errorLine, field, h } from "../../dom.js";
import { openDialog } from "../../ui/dialog.js";
import { adminScreen, run, select, tag } from "../../ui/admin.js";

const SEVERITIES = [
  ["silence", "Limit: kept out of public timelines, follows need approval"],
  ["suspend", "Suspend: nothing in, nothing out"],
  ["noop", "No limit: only the options below"],
];
const BLOCKS_PAGE = 100;
const SEVERITY_NAMES = { silence: "Limited", suspend: "Suspended", noop: "No limit" };
const FLAGS = [
  ["reject_media", "Reject media", "Its pictures and videos are neither stored nor shown."],
  ["reject_reports", "Reject reports", "Its reports are dropped."],
  ["reject_remix_requests", "Reject remix requests", "Its people cannot ask to use cameos here."],
  ["obfuscate", "Obfuscate the domain in the public list", "Shown with some letters hidden."],
];

export default async function show(ctx) {
  const { section, problem } = adminScreen(ctx, "Domain rules",
    "Which servers this one federates with, and how. A rule on a domain covers its subdomains.");
  const mode = h("div");
  const blocks = h("ul", { class: "cards" });
  const more = h("button", { type: "button", class: "button", text: "More blocks", hidden: true });
  const allows = h("ul", { class: "cards" });
  section.append(
    h("h2", { text: "Federation mode" }), mode,
    h("h2", { id: "blocks-heading", tabindex: "-1", text: "Blocked domains" }), blockForm(null, addedBlock), csvTools(reload), blocks, more,
    h("h2", { text: "Allowed domains" }),
    h("p", { class: "hint", text: "In allow-list mode only these servers federate with this one." }),
    allowForm(), allows);

  let next = null;
  async function loadBlocks(path) {
    const { items, next: after } = await page(path);
    next = items.length === BLOCKS_PAGE ? after : null;
    more.hidden = !next;
    blocks.append(...items.map(blockItem));
    if (!blocks.children.length) blocks.append(h("li", { class: "hint empty", text: "No domain is blocked." }));
  }
  more.addEventListener("click", () => run(more, problem, () => loadBlocks(next)));

  async function reload() {
    blocks.replaceChildren();
    await loadBlocks(`/api/v1/admin/domain_blocks?limit=${BLOCKS_PAGE}`);
  }

  function addedBlock(block) {
    blocks.querySelector(".empty")?.remove();
    blocks.prepend(blockItem(block));
    announce(`${block.domain} blocked`);
  }

  function blockItem(block) {
    const li = h("li", { class: "rule", "data-domain": block.domain });
    const itemProblem = errorLine();
    const edit = h("button", { type: "button", class: "button", text: "Edit", "aria-label": `Edit the block on ${block.domain}`,
      on: { click: () => {
        const dialog = openDialog(`Block on ${block.domain}`, h("div", { class: "sheet-body" },
          blockForm(block, (updated) => {
            dialog.close();
            const fresh = blockItem(updated);
            li.replaceWith(fresh);
            fresh.querySelector("button").focus();
            announce(`Block on ${updated.domain} saved`);
          })));
      } } });
    const remove = h("button", { type: "button", class: "button danger", text: "Remove", "aria-label": `Remove the block on ${block.domain}`,
      on: { click: () => {
        if (!confirm(`Lift the block on ${block.domain}? What was hidden from it is shown again.`)) return;
        run(remove, itemProblem, async () => {
          await del(`/api/v1/admin/domain_blocks/${block.id}`);
          li.remove();
          if (!blocks.children.length) blocks.append(h("li", { class: "hint empty", text: "No domain is blocked." }));
          document.getElementById("blocks-heading")?.focus();
        }, `Block on ${block.domain} lifted`);
      } } });
    const flags = FLAGS.filter(([key]) => block[key]).map(([, label]) => label);
    return append(li, [
      h("div", { class: "rule-head" }, h("strong", { class: "domain", text: block.domain }),
        tag(SEVERITY_NAMES[block.severity] ?? block.severity, block.severity)),
      flags.length ? h("p", { class: "hint", text: flags.join(" · ") }) : null,
      block.public_comment ? h("p", { class: "comment-line" }, h("span", { class: "hint", text: "Public: " }), block.public_comment) : null,
      block.private_comment ? h("p", { class: "comment-line" }, h("span", { class: "hint", text: "Private: " }), block.private_comment) : null,
      itemProblem, h("div", { class: "card-actions" }, edit, remove)]);
  }

  function allowForm() {
    const domain = h("input", { name: "domain", required: true, autocapitalize: "none", spellcheck: "false", placeholder: "example.org" });
    const formProblem = errorLine();
    const submit = h("button", { type: "submit", class: "button", text: "Allow" });
    const form = h("form", { class: "stack" }, h("div", { class: "inline-form" }, field("Domain to allow", domain), submit), formProblem);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(submit, formProblem, async () => {
        const allow = await post("/api/v1/admin/domain_allows", { domain: domain.value });
        domain.value = "";
        allows.querySelector(".empty")?.remove();
        if (!allows.querySelector(`[data-domain="${CSS.escape(allow.domain)}"]`)) allows.prepend(allowItem(allow));
      }, "Domain allowed");
    });
    return form;
  }

  function allowItem(allow) {
    const li = h("li", { class: "rule", "data-domain": allow.domain });
    const remove = h("button", { type: "button", class: "button danger", text: "Remove", "aria-label": `Remove ${allow.domain} from the allow list`,
      on: { click: () => run(remove, problem, async () => {
        await del(`/api/v1/admin/domain_allows/${allow.id}`);
        li.remove();
        if (!allows.children.length) allows.append(h("li", { class: "hint empty", text: "No domain is allowed." }));
      }, `${allow.domain} is off the allow list`) } });
    li.append(h("div", { class: "rule-head" }, h("strong", { class: "domain", text: allow.domain }), remove));
    return li;
  }

  async function loadAllows() {
    const { items } = await page("/api/v1/admin/domain_allows?limit=200");
    allows.replaceChildren(...items.map(allowItem));
    if (!items.length) allows.append(h("li", { class: "hint empty", text: "No domain is allowed." }));
  }

  async function loadMode() {
    const { mode: current } = await get("/api/v1/admin/federation_mode");
    const modeProblem = errorLine();
    const radios = [["open", "Open", "Every server not blocked federates with this one."],
      ["allowlist", "Allow list", "Only the allowed domains below federate; follows with every other server are severed."]];
    const fieldset = h("fieldset", { class: "choices" }, h("legend", { text: "Federate with" }),
      radios.map(([value, label, hint]) => h("label", { class: "choice" },
        h("input", { type: "radio", name: "federation-mode", value, checked: value === current }),
        h("span", {}, h("strong", { text: label }), h("span", { class: "hint", text: hint })))));
    let shown = current;
    fieldset.addEventListener("change", async (event) => {
      const wanted = event.target.value;
      if (wanted === "allowlist" && !confirm("Federate only with the allowed domains? Follows with every other server are severed.")) {
        fieldset.querySelector(`input[value="${shown}"]`).checked = true;
        return;
      }
      const saved = await run(null, modeProblem, () => put("/api/v1/admin/federation_mode", { mode: wanted }),
        wanted === "allowlist" ? "Allow-list mode is on" : "Federation is open");
      shown = saved?.mode ?? shown;
      fieldset.querySelector(`input[value="${shown}"]`).checked = true;
    });
    mode.replaceChildren(fieldset, modeProblem);
  }

  await Promise.all([loadMode(), reload(), loadAllows()]);
}

// The form that adds a block (block = null) or edits one; `saved` gets the API's answer.
function blockForm(block, saved) {
  const editing = Boolean(block);
  const domain = h("input", { name: "domain", required: true, autocapitalize: "none", spellcheck: "false",
    placeholder: "example.org", value: block?.domain ?? "", readonly: editing });
  const severity = select("severity", SEVERITIES, block?.severity ?? "silence");
  const checks = FLAGS.map(([key, label, hint]) => h("label", { class: "choice" },
    h("input", { type: "checkbox", name: key, checked: Boolean(block?.[key]) }),
    h("span", {}, h("strong", { text: label }), h("span", { class: "hint", text: hint }))));
  const publicComment = h("input", { name: "public_comment", maxlength: 1000, value: block?.public_comment ?? "" });
  const privateComment = h("input", { name: "private_comment", maxlength: 1000, value: block?.private_comment ?? "" });
  const formProblem = errorLine();
  const fix = h("p", { hidden: true });
  const submit = h("button", { type: "submit", class: "button primary", text: editing ? "Save block" : "Block" });
  const form = h("form", { class: "stack", "aria-label": editing ? `Block on ${block.domain}` : "Block a domain" },
    field("Domain", domain, editing ? "A block's domain cannot change: remove it and block the other one." : "e.g. example.org, or a host and port"),
    field("Severity", severity),
    h("fieldset", { class: "choices" }, h("legend", { text: "Options" }), checks),
    field("Public comment", publicComment, "Shown in this server's public list of moderated servers."),
    field("Private comment", privateComment, "Only admins see it."),
    formProblem, fix, submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    fix.hidden = true;
    const body = { severity: severity.value, public_comment: publicComment.value, private_comment: privateComment.value };
    for (const [key] of FLAGS) body[key] = form.elements[key].checked;
    run(submit, formProblem, async () => {
      try {
        const result = editing ? await put(`/api/v1/admin/domain_blocks/${block.id}`, body)
          : await post("/api/v1/admin/domain_blocks", { ...body, domain: domain.value });
        if (!editing) form.reset();
        saved(result);
      } catch (error) {
        // A block at least as strict covers it already: offer to edit that one instead.
        const existing = error.body?.existing_domain_block;
        if (existing) {
          fix.replaceChildren(h("button", { type: "button", class: "link-button", text: `Edit the block on ${existing.domain}`,
            on: { click: () => document.querySelector(`.rule[data-domain="${CSS.escape(existing.domain)}"] button`)?.click() } }));
          fix.hidden = false;
        }
        throw error;
      }
    });
  });
  if (editing) return form;
  return h("details", { class: "panel" }, h("summary", { text: "Block a domain" }), form);
}

// Export the blocks as a CSV file, and import one (every row checked first: one bad row and
// nothing is written, each bad line named).
function csvTools(reload) {
  const toolsProblem = errorLine();
  const result = h("div", { role: "status" });
  const exportButton = h("button", { type: "button", class: "button", text: "Export CSV" });
  exportButton.addEventListener("click", () => run(exportButton, toolsProblem, async () => {
    const url = await blobUrl("/api/v1/admin/domain_blocks/export", "text/csv");
    const link = h("a", { download: "domain_blocks.csv", hidden: true });
    link.href = url; // a blob: URL, which h() would refuse as not http(s)
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }, "Domain blocks downloaded"));

  const file = h("input", { type: "file", name: "data", accept: ".csv,text/csv,text/plain", required: true });
  const importButton = h("button", { type: "submit", class: "button", text: "Import CSV" });
  const form = h("form", { class: "stack" }, field("CSV file to import", file,
    "Mastodon's export, or one domain a line (those are suspended). Existing blocks are updated."), importButton);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    result.replaceChildren();
    run(importButton, toolsProblem, async () => {
      const body = new FormData();
      body.append("data", file.files[0]);
      try {
        const { created, updated, total } = await (await request("POST", "/api/v1/admin/domain_blocks/import", body)).json();
        result.replaceChildren(h("p", { class: "ok", text: `Imported ${total} ${total === 1 ? "row" : "rows"}: ${created} new, ${updated} updated.` }));
        form.reset();
        await reload();
      } catch (error) {
        const lines = error.body?.errors;
        if (lines?.length) {
          result.replaceChildren(h("p", { class: "error", text: "Nothing was imported. Fix these lines and try again:" }),
            h("ul", { class: "error-list" }, lines.map((line) => h("li", { text: line }))));
          return;
        }
        throw error;
      }
    });
  });
  return h("details", { class: "panel" }, h("summary", { text: "CSV export and import" }),
    h("div", { class: "stack" }, h("p", {}, exportButton), form, toolsProblem, result));
}
