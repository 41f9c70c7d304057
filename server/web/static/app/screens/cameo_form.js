// Cameo setup: 1-5 reference photos and a public preview, instructions, who may use it and how
// they are answered. The same form edits a cameo (its photos stay as they are).

import { del, findAccount, get, patch, request } from "../api.js";
import { announce, errorLine, field, h } from "../dom.js";
import { navigate } from "../router.js";
import { APPROVALS, PERMISSIONS } from "../ui/cameo_card.js";

const MAX_REFERENCES = 5;
const IMAGE_TYPES = "image/jpeg,image/png,image/webp";

function choices(legend, name, options, selected) {
  return h("fieldset", { class: "choices" }, h("legend", { text: legend }),
    Object.entries(options).map(([value, [label, hint]]) => h("label", { class: "choice" },
      h("input", { type: "radio", name, value, checked: value === selected, required: true }),
      h("span", {}, h("strong", { text: label }), h("span", { class: "hint", text: hint })))));
}

export default async function show(ctx) {
  const editing = ctx.params.id;
  const cameo = editing
    ? await get(`/api/v1/cameos/${encodeURIComponent(editing)}`)
    : { name: "", instructions: "", permission: "only_me", approval: "automatic", paused: false, approved_accounts: [] };

  const name = h("input", { name: "name", required: true, maxlength: 100, value: cameo.name });
  const instructions = h("textarea", { name: "instructions", rows: 3, maxlength: 1000, value: cameo.instructions });
  const references = h("input", { type: "file", name: "references", accept: IMAGE_TYPES, multiple: true, required: true });
  const preview = h("input", { type: "file", name: "preview", accept: IMAGE_TYPES, required: true });
  const thumbs = h("ul", { class: "thumbs", "aria-label": "Chosen reference photos" });
  const paused = h("input", { type: "checkbox", name: "paused", checked: cameo.paused });
  const permission = choices("Who may use it", "permission", PERMISSIONS, cameo.permission);
  const approval = choices("How requests are answered", "approval", APPROVALS, cameo.approval);

  // Thumbnails of the chosen photos; their object URLs are released when the screen goes.
  let urls = [];
  const release = () => { urls.forEach(URL.revokeObjectURL); urls = []; };
  ctx.onLeave(release);
  references.addEventListener("change", () => {
    const files = [...references.files];
    references.setCustomValidity(files.length > MAX_REFERENCES ? `Choose at most ${MAX_REFERENCES} photos.` : "");
    release();
    urls = files.map((file) => URL.createObjectURL(file));
    thumbs.replaceChildren(...urls.map((url, i) => {
      const img = h("img", { alt: `Reference photo ${i + 1}` });
      img.src = url; // a blob: URL of the chosen file, which h() would refuse as not http(s)
      return h("li", {}, img);
    }));
  });

  // The "people I approve" list, edited by handle.
  let approved = [...cameo.approved_accounts];
  const approvedList = h("ul", { class: "people" });
  const handle = h("input", { name: "handle", placeholder: "@name or @name@server", autocapitalize: "none" });
  const approvedProblem = errorLine();
  const drawApproved = () => approvedList.replaceChildren(...approved.map((account) => h("li", {},
    h("span", { text: `@${account.acct}` }), " ",
    h("button", { type: "button", class: "link-button", text: "Remove", "aria-label": `Remove @${account.acct}`,
      on: { click: () => { approved = approved.filter((a) => a.id !== account.id); drawApproved(); handle.focus(); } } }))));
  const addPerson = async () => {
    approvedProblem.textContent = "";
    try {
      const account = await findAccount(handle.value);
      if (!approved.some((a) => a.id === account.id)) approved.push(account);
      handle.value = "";
      drawApproved();
    } catch (error) {
      approvedProblem.textContent = error.message;
    }
  };
  handle.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); addPerson(); } });
  const people = h("fieldset", { class: "choices" }, h("legend", { text: "People I approve" }), approvedList,
    field("Add someone", handle), h("button", { type: "button", class: "button", text: "Add", on: { click: addPerson } }),
    approvedProblem);
  const showPeople = () => { people.hidden = permission.querySelector("input:checked")?.value !== "approved"; };
  permission.addEventListener("change", showPeople);
  drawApproved();
  showPeople();

  const problem = errorLine();
  const submit = h("button", { type: "submit", class: "button primary", text: editing ? "Save changes" : "Create cameo" });
  const form = h("form", { class: "stack" },
    field("Name", name, "Shown to people who may use it, e.g. \"Me, in my yellow raincoat\"."),
    field("Instructions", instructions, "How you may be shown: the video model and the people asking read this."),
    editing ? null : field("Reference photos (1 to 5)", references, "Clear photos of your face. Only the video model sees them: they are never public."),
    editing ? null : thumbs,
    editing ? null : field("Public preview", preview, "The one picture of this cameo that anyone can see."),
    permission, approval, people,
    editing ? h("label", { class: "check" }, paused, " Paused: nobody can use it until I resume it") : null,
    problem, submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    const rules = Object.fromEntries(new FormData(form).entries());
    const approvedIds = rules.permission === "approved" ? approved.map((a) => a.id) : undefined;
    submit.setAttribute("aria-busy", "true");
    try {
      let id = editing;
      if (editing) {
        await patch(`/api/v1/cameos/${id}`, { name: name.value, instructions: instructions.value,
          permission: rules.permission, approval: rules.approval, paused: paused.checked, approved_account_ids: approvedIds });
      } else {
        const body = new FormData();
        for (const key of ["name", "instructions", "permission", "approval"]) body.append(key, rules[key] ?? "");
        for (const file of references.files) body.append("references", file);
        body.append("preview", preview.files[0]);
        ({ id } = await (await request("POST", "/api/v1/cameos", body)).json());
        if (approvedIds?.length) await patch(`/api/v1/cameos/${id}`, { approved_account_ids: approvedIds });
      }
      announce(editing ? "Cameo saved" : "Cameo created");
      navigate("/app/cameos");
    } catch (error) {
      problem.textContent = error.message;
    } finally {
      submit.removeAttribute("aria-busy");
    }
  });

  const remove = editing ? h("button", { type: "button", class: "button danger", text: "Delete this cameo", on: { click: async () => {
    if (!confirm(`Delete the cameo "${cameo.name}"? Its reference photos are erased and nobody can use it again.`)) return;
    await del(`/api/v1/cameos/${editing}`);
    announce("Cameo deleted");
    navigate("/app/cameos");
  } } }) : null;

  ctx.root.append(h("section", { class: "screen narrow" },
    h("h1", { text: editing ? `Edit ${cameo.name}` : "Set up a cameo" }),
    editing ? h("img", { class: "cameo-preview large", src: cameo.preview_url, alt: `Preview of ${cameo.name}` }) : null,
    form, remove));
}
