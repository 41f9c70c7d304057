// A generation of my own: live progress, cancel, and publishing the draft it makes. A remix's
// generation is shown on its remix screen, with each owner's answer.

import { get, post } from "../api.js";
import { h } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { demoModelNote } from "../ui/demo_note.js";
import { progressPanel, watchJob } from "../ui/progress.js";
import { publishForm } from "../ui/publish.js";

const postPath = (statusId) => `/app/@${session.me.acct}/${statusId}`;

export default async function show(ctx) {
  const first = await get(`/api/v1/generations/${encodeURIComponent(ctx.params.id)}`);
  if (first.remix_id) return navigate(`/app/remixes/${first.remix_id}`, { replace: true });
  // Published: the video's own address is where it lives now.
  if (first.status_id) return navigate(postPath(first.status_id), { replace: true });
  const panel = progressPanel();
  const result = h("div", { class: "result" });
  ctx.root.append(h("section", { class: "screen" },
    h("h1", { text: "Your video" }),
    h("blockquote", { class: "prompt", text: first.prompt }),
    await demoModelNote(),
    panel.element, result));

  const onJob = (job) => {
    panel.update(job);
    if (job.state !== "succeeded" || !job.result || result.hasChildNodes()) return;
    if (job.published) {
      result.append(h("p", { text: "This video is published." }));
      return;
    }
    result.append(h("h2", { text: "Publish" }), publishForm(job.result, async ({ status, visibility }) => {
      const posted = await post("/api/v1/statuses", { status, visibility, media_ids: [job.result.id] });
      // In place of this screen, whose form is done: Back goes to where the person came from.
      navigate(postPath(posted.id), { replace: true });
    }));
  };
  onJob(first);
  watchJob(first.id, onJob, ctx.signal);
}
