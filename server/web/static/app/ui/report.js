// "Report": tell this server's moderators about an account, one of its posts (a video or a
// comment) or one of its cameos, with a category and a comment.

import { post } from "../api.js";
import { announce, errorLine, field, h, onSubmit } from "../dom.js";
import { openDialog } from "./dialog.js";
import { requireSignIn } from "./signin.js";

export const REPORT_CATEGORIES = {
  likeness: ["My likeness or someone else's, without consent", "A cameo or a video that uses a real person against their wishes."],
  spam: ["Spam", "Ads, scams, misleading links, the same thing again and again."],
  violation: ["It breaks this server's rules", "Harassment, hate, sexual content, violence..."],
  legal: ["It is illegal", "Where you or the server are."],
  other: ["Something else", "Say what in the comment."],
};

// `what` names the thing in the dialog ("this video", "@bob's comment"); `target` is the
// report's body: { account_id } and optionally status_ids or cameo_id. `account` is whose it is;
// `category` is chosen beforehand when the thing makes one likely.
export function openReport(what, account, target, { category = null } = {}) {
  if (!requireSignIn()) return null;
  const remote = account.acct.includes("@");
  const comment = h("textarea", { name: "comment", rows: 3, maxlength: 1000 });
  const forward = remote ? h("input", { type: "checkbox", name: "forward" }) : null;
  const problem = errorLine();
  const submit = h("button", { type: "submit", class: "button primary", text: "Send report" });
  const form = h("form", { class: "stack" },
    h("fieldset", { class: "choices" }, h("legend", { text: "What is wrong with it?" }),
      Object.entries(REPORT_CATEGORIES).map(([value, [label, hint]]) => h("label", { class: "choice" },
        h("input", { type: "radio", name: "category", value, required: true, checked: value === category }),
        h("span", {}, h("strong", { text: label }), h("span", { class: "hint", text: hint }))))),
    field("Comment", comment, "Anything the moderators should know (at most 1000 characters)."),
    forward ? h("label", { class: "check" }, forward, ` Also send it to ${account.acct.split("@")[1]}, without your name`) : null,
    problem, submit);
  const dialog = openDialog(`Report ${what}`, h("div", { class: "sheet-body" },
    h("p", { class: "hint", text: "Only this server's moderators see your report. The person you report is not told who sent it." }),
    form));
  onSubmit(form, submit, problem, async () => {
    await post("/api/v1/reports", {
      ...target, category: form.elements.category.value, comment: comment.value, forward: forward?.checked ?? false,
    });
    dialog.close();
    announce("Report sent: the moderators will look at it");
  });
  return dialog;
}
