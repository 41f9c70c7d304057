// A modal dialog: the browser keeps focus inside it, Escape closes it, and focus goes back to
// whatever opened it.

import { h, newId } from "../dom.js";
import { icon } from "./icons.js";

export function openDialog(title, ...content) {
  const titleId = newId("dialog-title");
  const dialog = h("dialog", { class: "sheet", "aria-labelledby": titleId },
    h("header", { class: "sheet-head" },
      h("h2", { id: titleId, text: title }),
      h("button", { type: "button", class: "icon-button", title: "Close", "aria-label": "Close",
        on: { click: () => dialog.close() } }, icon("close"))),
    ...content);
  dialog.addEventListener("close", () => dialog.remove());
  // A click on the backdrop (the dialog box itself, outside its content) closes it.
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
