// A cameo as others see it: the public preview, its name, whose it is and who may use it.

import { displayName, h } from "../dom.js";

export const PERMISSIONS = {
  only_me: ["Only me", "Nobody else can use or see it; uses you allowed before are withdrawn."],
  approved: ["People I approve", "Only the people on my list."],
  mutuals: ["Mutuals", "People I follow who follow me back."],
  followers: ["My followers", "Anyone who follows me."],
  everyone: ["Everyone", "Anyone, here or on another server."],
};

export const APPROVALS = {
  automatic: ["Automatically", "Anyone allowed above gets a yes at once; you still see every use."],
  manual: ["I approve each request", "You are asked every time, and nothing is made until you say yes."],
};

function rulesText(cameo) {
  if (!cameo.permission) return "Its owner's server decides who may use it.";
  const who = PERMISSIONS[cameo.permission]?.[0] ?? cameo.permission;
  const how = cameo.approval === "manual" ? "the owner approves each request" : "answered automatically";
  return `${who}; ${how}${cameo.paused ? "; paused" : ""}.`;
}

// `note`: more about the cameo for this screen, under its rules (the composer's instructions).
export function cameoCard(cameo, { action = null, heading = "h3", note = null } = {}) {
  return h("article", { class: "cameo-card" },
    h("img", { class: "cameo-preview", src: cameo.preview_url, alt: `Preview of ${cameo.name}`, width: 72, height: 72 }),
    h("div", { class: "cameo-text" },
      h(heading, { class: "cameo-name", text: cameo.name }),
      cameo.account ? h("p", { class: "hint", text: `${displayName(cameo.account)} (@${cameo.account.acct})` }) : null,
      h("p", { class: "hint", text: rulesText(cameo) }),
      note,
      cameo.paused ? h("span", { class: "badge", text: "Paused" }) : null),
    action);
}
