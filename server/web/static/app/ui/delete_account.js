// "Delete account": gone for good, on this server and on every server that holds a copy, cameos
// and every consent given with them first. The password confirms it is really the person.

import { post } from "../api.js";
import { announce, errorLine, field, h, onSubmit } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { openDialog } from "./dialog.js";

export function openDeleteAccount() {
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const problem = errorLine();
  const submit = h("button", { type: "submit", class: "button danger", text: "Delete my account" });
  const form = h("form", { class: "stack" }, field("Password", password, "Your password, to confirm."), problem, submit);
  const dialog = openDialog("Delete your account", h("div", { class: "sheet-body" },
    h("p", { text: "Your videos, cameos and drafts are deleted, every use of your cameos you allowed is withdrawn on every server that has it, and other servers are told to forget your account. This cannot be undone; your username stays taken." }),
    form));
  onSubmit(form, submit, problem, async () => {
    await post("/api/v1/account/delete", { password: password.value });
    dialog.close();
    session.clear();
    navigate("/app/for-you");
    announce("Your account was deleted");
  });
  return dialog;
}
