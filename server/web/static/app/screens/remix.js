// A remix I asked for: each cameo owner's answer as it comes, then the render's progress, then
// publishing. Nothing renders until every owner said yes.

import { accountByUri, get, post } from "../api.js";
import { announce, h, sleep } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { progressPanel, TERMINAL, watchJob } from "../ui/progress.js";
import { publishForm } from "../ui/publish.js";

const ANSWERS = {
  pending: "has not answered yet",
  approved: "said yes",
  rejected: "said no",
  revoked: "withdrew their consent",
};
const POLL_MS = 1500;

export default async function show(ctx) {
  const path = `/api/v1/remixes/${encodeURIComponent(ctx.params.id)}`;
  let remix = await get(path);
  const answers = h("ul", { class: "answers", "aria-live": "polite" });
  const summary = h("p", { class: "remix-state" });
  const panel = progressPanel();
  const generation = h("div", { hidden: true }, h("h2", { text: "Rendering" }), panel.element);
  const after = h("div", { class: "result" });
  ctx.root.append(h("section", { class: "screen" },
    h("h1", { text: "Your remix" }),
    h("blockquote", { class: "prompt", text: remix.prompt }),
    h("h2", { text: "Consent" }), summary, answers, generation, after));

  let watching = null;
  let answered = null;
  const drawAnswers = async () => {
    // The answers are a live region: redrawn only when one changed, so each change is read once.
    const key = JSON.stringify([remix.state, remix.cameos.map((c) => c.state)]);
    if (key === answered) return;
    answered = key;
    answers.replaceChildren(...await Promise.all(remix.cameos.map(async (cameo) => {
      const owner = await accountByUri(cameo.owner);
      const mine = session.isMe(owner);
      return h("li", { class: `answer ${cameo.state}`, "data-state": cameo.state },
        h("strong", { text: mine ? "You" : owner ? `@${owner.acct}` : cameo.owner }),
        ` ${mine ? "(your own cameo)" : ANSWERS[cameo.state] ?? cameo.state}`);
    })));
    summary.textContent = {
      pending: "Waiting for every owner to answer.",
      authorized: "Every owner said yes.",
      rejected: "An owner said no: this remix will not be made.",
      revoked: "An owner withdrew their consent: this remix is gone.",
      published: "Published.",
    }[remix.state] ?? remix.state;
  };

  const draw = async () => {
    await drawAnswers();
    if (remix.generation && !watching) {
      generation.hidden = false;
      watching = watchJob(remix.generation.id, onJob, ctx.signal);
    }
    if (!remix.generation && ["pending", "authorized"].includes(remix.state) && !after.hasChildNodes()) {
      after.append(h("p", { class: "hint", text: "The render is not queued yet (you may have too many at once)." }),
        h("button", { type: "button", class: "button", text: "Start the render", on: { click: async () => {
          try {
            remix = await post(`${path}/generation`);
            after.replaceChildren();
            await draw();
          } catch (error) {
            announce(error.message);
          }
        } } }));
    }
  };

  const onJob = (job) => {
    panel.update(job);
    if (job.state !== "succeeded" || remix.state !== "authorized" || job.published || after.hasChildNodes()) return;
    after.append(h("h2", { text: "Publish" }), publishForm(job.result, async ({ status, visibility }) => {
      const published = await post(`${path}/publish`, { status, visibility });
      navigate(`/app/@${session.me.acct}/${published.status_id}`);
    }));
  };

  await draw();
  poll();

  // Owners answer whenever they like: ask again until every answer is in and the render ended.
  async function poll() {
    while (!ctx.signal.aborted && (remix.state === "pending" || (remix.generation && !TERMINAL.has(remix.generation.state)))) {
      await sleep(POLL_MS, ctx.signal);
      if (ctx.signal.aborted) return;
      try {
        remix = await get(path);
        await draw();
        if (remix.generation && TERMINAL.has(remix.generation.state)) onJob(remix.generation);
      } catch {
        // Try again at the next tick.
      }
    }
  }
}
