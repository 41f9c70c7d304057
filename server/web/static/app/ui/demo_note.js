// On an instance without a real video model every render is coloured noise: say so before people
// wait for one and wonder, and say what makes real videos.

import { get } from "../api.js";
import { h } from "../dom.js";

let demoModel = null; // asked once per page load: a server's model changes only with a restart

export async function demoModelNote() {
  demoModel ??= get("/api/v2/instance")
    .then((instance) => Boolean(instance.configuration?.generation?.demo_model))
    .catch(() => false);
  if (!await demoModel) return null;
  return h("p", { class: "demo-note", role: "note" },
    h("strong", { text: "Demo model: videos are noise. " }),
    "This server renders with a tiny test model of random weights, so every video comes out as coloured noise. ",
    "For real videos, the server's operator installs a video model and sets ", h("code", { text: "LIKENESS_MODEL_DIR" }),
    " (see \"Video models\" in Likeness's README).");
}
