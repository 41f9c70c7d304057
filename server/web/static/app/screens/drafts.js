// My generated videos that nobody sees yet: preview, caption, publish. Renders on their way
// and the ones that failed are listed too.

import { del, get, post } from "../api.js";
import { announce, h, timeAgo } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { demoModelNote } from "../ui/demo_note.js";
import { TERMINAL } from "../ui/progress.js";
import { publishForm } from "../ui/publish.js";

const keptUntil = (iso) => h("time", { datetime: iso, text: new Date(iso).toLocaleDateString() });
const screenOf = (job) => job.remix_id ? `/app/remixes/${job.remix_id}` : `/app/generations/${job.id}`;

export default async function show(ctx) {
  const jobs = await get("/api/v1/generations?limit=40");
  const drafts = jobs.filter((job) => job.state === "succeeded" && job.result && !job.published);
  const pending = jobs.filter((job) => !TERMINAL.has(job.state) || job.state === "held");
  const failed = jobs.filter((job) => job.state === "failed");

  const publish = (job) => async ({ status, visibility }) => {
    const id = job.remix_id
      ? (await post(`/api/v1/remixes/${job.remix_id}/publish`, { status, visibility, media_id: job.result.id })).status_id
      : (await post("/api/v1/statuses", { status, visibility, media_ids: [job.result.id] })).id;
    navigate(`/app/@${session.me.acct}/${id}`);
  };
  const discard = (job) => h("button", { type: "button", class: "button danger", text: "Discard", on: { click: async () => {
    if (!confirm("Discard this draft? The video is deleted.")) return;
    try {
      await del(`/api/v1/generations/${job.id}`);
      await navigate(location.pathname, { replace: true });
    } catch (error) {
      announce(error.message);
    }
  } } });

  ctx.root.append(h("section", { class: "screen" },
    h("h1", { text: "Drafts" }),
    h("p", { class: "hint", text: "Videos you made that nobody else sees until you publish them." }),
    await demoModelNote(),
    drafts.length
      ? h("ul", { class: "drafts" }, drafts.map((job) => h("li", { class: "draft" },
        h("h2", { class: "prompt", text: job.prompt }), h("p", { class: "hint" }, "Made ", timeAgo(job.finished_at),
          job.expires_at ? [". Deleted on ", keptUntil(job.expires_at), " unless you publish it."] : null),
        publishForm(job.result, publish(job)), discard(job))))
      : h("p", { text: "No drafts." }, " ", h("a", { href: "/app/compose", text: "Create a video" })),
    pending.length ? [h("h2", { text: "On the way" }), h("ul", { class: "plain" }, pending.map((job) =>
      h("li", {}, h("a", { href: screenOf(job), text: job.prompt }), ` (${job.state})`)))] : null,
    failed.length ? [h("h2", { text: "Failed" }), h("ul", { class: "plain" }, failed.map((job) =>
      h("li", {}, h("a", { href: screenOf(job), text: job.prompt }), `: ${job.failure_reason ?? "failed"}`)))] : null));
}
