// My cameos: each with its rules, and edit, pause or delete.

import { del, get, patch } from "../api.js";
import { announce, h } from "../dom.js";
import { cameoCard } from "../ui/cameo_card.js";

export default async function show(ctx) {
  const heading = h("h1", { text: "Your cameos" });
  const list = h("ul", { class: "cards" });
  ctx.root.append(h("section", { class: "screen" }, heading,
    h("p", { class: "hint", text: "A cameo is your likeness: reference photos that only the video model sees, a public preview, and your rules for who may use it. You see every video that uses it, and can withdraw consent at any time." }),
    h("p", {}, h("a", { class: "button primary", href: "/app/cameos/new", text: "New cameo" })),
    list));

  const item = (cameo) => {
    const li = h("li");
    const pause = h("button", { type: "button", class: "button", text: cameo.paused ? "Resume" : "Pause",
      "aria-label": `${cameo.paused ? "Resume" : "Pause"} ${cameo.name}`, on: { click: async () => {
        try {
          const updated = await patch(`/api/v1/cameos/${cameo.id}`, { paused: !cameo.paused });
          const fresh = item(updated);
          li.replaceWith(fresh);
          fresh.querySelector("button").focus();
          announce(updated.paused ? `${cameo.name} is paused: nobody can use it` : `${cameo.name} can be used again`);
        } catch (error) {
          announce(error.message);
        }
      } } });
    const remove = h("button", { type: "button", class: "button danger", text: "Delete",
      "aria-label": `Delete ${cameo.name}`, on: { click: async () => {
        if (!confirm(`Delete the cameo "${cameo.name}"? Its reference photos are erased and nobody can use it again.`)) return;
        try {
          await del(`/api/v1/cameos/${cameo.id}`);
          li.remove();
          heading.tabIndex = -1;
          heading.focus();
          announce(`${cameo.name} deleted`);
        } catch (error) {
          announce(error.message);
        }
      } } });
    li.append(cameoCard(cameo, { heading: "h2", action: h("div", { class: "card-actions" },
      h("a", { class: "button", href: `/app/cameos/${cameo.id}`, text: "Edit", "aria-label": `Edit ${cameo.name}` }),
      pause, remove) }));
    return li;
  };

  const cameos = await get("/api/v1/cameos");
  list.replaceChildren(...cameos.map(item));
  if (!cameos.length) list.append(h("li", { class: "hint", text: "No cameos yet." }));
}
