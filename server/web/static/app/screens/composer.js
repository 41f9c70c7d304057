// The remix composer: pick cameos (mine, and other people's by handle or link), see whose
// consent is needed, write a prompt. Others' cameos make a remix, which asks every owner and
// renders once all said yes; my own alone make a plain generation.

import { findAccount, get, post } from "../api.js";
import { announce, errorLine, field, h } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { cameoCard } from "../ui/cameo_card.js";
import { demoModelNote } from "../ui/demo_note.js";

const MAX_CAMEOS = 4;

export default async function show(ctx) {
  const selected = new Map(); // cameo URL -> public cameo (with its account)
  const mine = (await get("/api/v1/cameos")).map((cameo) => ({ ...cameo, account: session.me }));
  const isMine = (cameo) => session.isMe(cameo.account);

  const starring = h("ul", { class: "cards starring", "aria-live": "polite" });
  const consentNote = h("p", { class: "consent-note" });
  const prompt = h("textarea", { name: "prompt", rows: 4, maxlength: 2000, required: true, value: ctx.query.get("prompt") ?? "" });
  const problem = errorLine();
  const submit = h("button", { type: "submit", class: "button primary" });

  // The owner's instructions, read before the prompt is written and sent (the cameo form
  // promises its owner that the people asking read them).
  const instructionsOf = (cameo) => {
    const text = cameo.instructions?.trim();
    if (!text) return h("p", { class: "hint", text: "No instructions from its owner." });
    return h("p", { class: "cameo-instructions" },
      h("strong", { text: isMine(cameo) ? "Your instructions: " : `@${cameo.account.acct} asks: ` }), text);
  };

  const drawSelection = () => {
    starring.replaceChildren(...[...selected.values()].map((cameo) => h("li", {}, cameoCard(cameo, {
      note: instructionsOf(cameo),
      action: h("div", { class: "card-actions" },
        h("p", { class: isMine(cameo) ? "consent mine" : "consent needed",
          text: isMine(cameo) ? "Yours: no consent needed" : `Needs consent from @${cameo.account.acct}` }),
        h("button", { type: "button", class: "link-button", text: "Remove", "aria-label": `Remove ${cameo.name}`,
          on: { click: () => toggle(cameo, false) } })),
    }))));
    if (!selected.size) starring.append(h("li", { class: "hint", text: "No cameo yet: the video will star nobody in particular." }));
    const owners = [...new Set([...selected.values()].filter((c) => !isMine(c)).map((c) => `@${c.account.acct}`))];
    consentNote.textContent = owners.length
      ? `Before anything is made, ${owners.join(", ")} ${owners.length > 1 ? "are" : "is"} asked. The video renders once every owner says yes; you will see each answer.`
      : "Only your own likeness: the video starts rendering at once.";
    submit.textContent = owners.length ? "Ask for consent and create" : "Create video";
    for (const box of myList.querySelectorAll("input")) box.checked = selected.has(box.value);
  };

  const toggle = (cameo, on) => {
    if (on && selected.size >= MAX_CAMEOS) {
      announce(`At most ${MAX_CAMEOS} cameos in one video`);
      return false;
    }
    if (on) selected.set(cameo.uri, cameo);
    else selected.delete(cameo.uri);
    drawSelection();
    return true;
  };

  const myList = h("ul", { class: "cards" }, mine.length ? mine.map((cameo) => {
    const box = h("input", { type: "checkbox", value: cameo.uri, "aria-label": `Star ${cameo.name}` });
    box.addEventListener("change", () => { if (!toggle(cameo, box.checked)) box.checked = false; });
    return h("li", {}, cameoCard(cameo, { action: box }));
  }) : h("li", { class: "hint" }, "You have no cameo yet. ", h("a", { href: "/app/cameos/new", text: "Set one up" })));

  // Someone else's cameo: their handle lists the cameos they let others use; a link names one.
  const find = h("input", { name: "find", placeholder: "@name, @name@server or a cameo link", autocapitalize: "none" });
  const found = h("ul", { class: "cards", "aria-live": "polite" });
  const findProblem = errorLine();
  const search = async () => {
    findProblem.textContent = "";
    found.replaceChildren();
    const query = find.value.trim();
    if (!query) return;
    try {
      const cameos = /^https?:\/\//.test(query)
        ? [await get(`/api/v1/cameos/lookup?uri=${encodeURIComponent(query)}`)]
        : await get(`/api/v1/accounts/${(await findAccount(query)).id}/cameos`);
      found.replaceChildren(...cameos.map((cameo) => h("li", {}, cameoCard(cameo, {
        note: instructionsOf(cameo),
        action: h("button", { type: "button", class: "button", text: "Add", "aria-label": `Add ${cameo.name}`,
          on: { click: () => { if (toggle(cameo, true)) announce(`${cameo.name} added`); } } }),
      }))));
      if (!cameos.length) {
        findProblem.textContent = /@.+@/.test(query)
          ? "Other servers do not list their cameos: paste the link of the cameo you want."
          : "This person has no cameo that others may use.";
      }
    } catch (error) {
      findProblem.textContent = error.message;
    }
  };
  find.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); search(); } });

  const form = h("form", { class: "stack" },
    h("h2", { text: "Starring" }), starring, consentNote,
    field("Prompt", prompt, "What happens in the video, as each owner asks above. Cameo owners see it when they decide."),
    problem, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    const cameos = [...selected.values()];
    submit.setAttribute("aria-busy", "true");
    try {
      if (cameos.some((c) => !isMine(c))) {
        const remix = await post("/api/v1/remixes", { prompt: prompt.value, cameos: cameos.map((c) => c.uri) });
        navigate(`/app/remixes/${remix.id}`);
      } else {
        const job = await post("/api/v1/generations", { prompt: prompt.value, cameo_ids: cameos.map((c) => c.id) });
        navigate(`/app/generations/${job.id}`);
      }
    } catch (error) {
      problem.textContent = error.message;
    } finally {
      submit.removeAttribute("aria-busy");
    }
  });

  ctx.root.append(h("section", { class: "screen" },
    h("h1", { text: "Create a video" }),
    await demoModelNote(),
    h("h2", { text: "Your cameos" }), myList,
    h("h2", { text: "Someone else's cameo" }),
    h("div", { class: "inline-form" }, field("Handle or cameo link", find),
      h("button", { type: "button", class: "button", text: "Find", on: { click: search } })),
    findProblem, found,
    form));

  // Cameos named in the address (the remix button of a video) are looked up and preselected.
  for (const uri of ctx.query.getAll("cameo").slice(0, MAX_CAMEOS)) {
    const own = mine.find((c) => c.uri === uri);
    try {
      selected.set(uri, own ?? await get(`/api/v1/cameos/lookup?uri=${encodeURIComponent(uri)}`));
    } catch (error) {
      problem.textContent = `${uri}: ${error.message}`;
    }
  }
  drawSelection();
}
