// "More or less like this" for For You: a creator or a hashtag moves up or down for me.

import { post } from "../api.js";
import { announce, h } from "../dom.js";
import { openDialog } from "./dialog.js";

export function openSteering(status) {
  const who = status.account;
  const choices = [
    { label: `More from @${who.acct}`, body: { account_id: who.id, direction: "more" }, done: `You will see more from @${who.acct}` },
    { label: `Less from @${who.acct}`, body: { account_id: who.id, direction: "less" }, done: `You will see less from @${who.acct}` },
    ...(status.tags ?? []).flatMap((tag) => [
      { label: `More #${tag.name}`, body: { tag: tag.name, direction: "more" }, done: `You will see more #${tag.name}` },
      { label: `Less #${tag.name}`, body: { tag: tag.name, direction: "less" }, done: `You will see less #${tag.name}` },
    ]),
  ];
  const dialog = openDialog("More or less like this", h("div", { class: "sheet-body" },
    h("p", { class: "hint", text: "For You ranks videos by likes, boosts, replies and how new they are. Your choices move a creator or a topic up or down for you." }),
    h("ul", { class: "menu" }, choices.map((choice) => h("li", {},
      h("button", { type: "button", class: "button", text: choice.label, on: { click: async () => {
        try {
          await post("/api/v1/for_you/preferences", choice.body);
          dialog.close();
          announce(choice.done);
        } catch (error) {
          announce(error.message);
        }
      } } }))))));
}
