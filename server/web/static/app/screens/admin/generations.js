// Held videos (moderators and admins): drafts the output safety check held. Each is watched on
// demand (the file is served to staff only, so it is fetched with the token), then released to
// its requester or rejected with a reason (the draft is deleted).

import { blobUrl, get, post } from "../../api.js";
import { append, errorLine, field, h, timeAgo } from "../../dom.js";
import { adminScreen, handleOf, run } from "../../ui/admin.js";

const PAGE = 20;

export default async function show(ctx) {
  const { section, heading, problem } = adminScreen(ctx, "Held videos",
    "Drafts the safety check held. Nobody but staff sees them until one of you releases them; a rejected draft is deleted.");
  const list = h("ul", { class: "cards" });
  const older = h("button", { type: "button", class: "button", text: "Older", hidden: true });
  section.append(list, older);

  // Blob URLs of the drafts watched here, released when the screen goes.
  const urls = [];
  ctx.onLeave(() => urls.forEach(URL.revokeObjectURL));

  let lastId = null;
  async function load() {
    const path = `/api/v1/admin/generations?state=held&limit=${PAGE}${lastId ? `&max_id=${lastId}` : ""}`;
    const jobs = await get(path);
    if (ctx.signal.aborted) return;
    list.append(...jobs.map(card));
    lastId = jobs.at(-1)?.id ?? lastId;
    older.hidden = jobs.length < PAGE;
    empty();
  }
  older.addEventListener("click", () => run(older, problem, load));

  function empty() {
    if (!list.querySelector(".held")) list.replaceChildren(h("li", { class: "hint", text: "No video is waiting for review." }));
  }

  function card(job) {
    const li = h("li", { class: "held", "data-id": job.id });
    const who = job.account;
    const itemProblem = errorLine();
    const stage = h("div", { class: "held-stage" });
    const watch = h("button", { type: "button", class: "button", text: "Watch the draft", "aria-label": `Watch the draft "${job.prompt}"` });
    watch.addEventListener("click", () => run(watch, itemProblem, async () => {
      if (!job.result) throw new Error("this draft has no video");
      const url = await blobUrl(job.result.url);
      urls.push(url);
      const video = h("video", { class: "draft-video", controls: true, loop: true, "aria-label": `Held draft: ${job.prompt}` });
      video.muted = true;
      video.src = url; // a blob: URL, which h() would refuse as not http(s)
      stage.replaceChildren(h("div", { class: "draft-preview" }, video, h("span", { class: "ai-label", text: "AI-generated" })));
      video.focus();
    }));
    stage.append(watch);

    const done = (message) => {
      li.remove();
      empty();
      heading.tabIndex = -1;
      heading.focus();
      return message;
    };
    const release = h("button", { type: "button", class: "button primary", text: "Release", "aria-label": `Release "${job.prompt}" to @${who?.acct ?? "its requester"}` });
    release.addEventListener("click", () => run(release, itemProblem, async () => {
      await post(`/api/v1/admin/generations/${job.id}/release`);
      done();
    }, "Released: the requester has the draft"));
    const reason = h("input", { name: "reason", maxlength: 500 });
    const reject = h("button", { type: "submit", class: "button danger", text: "Reject", "aria-label": `Reject "${job.prompt}"` });
    const rejectForm = h("form", { class: "inline-form" }, field("Reason for rejecting (told to the requester)", reason), reject);
    rejectForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!confirm("Reject this draft? It is deleted and the requester is told why.")) return;
      run(reject, itemProblem, async () => {
        await post(`/api/v1/admin/generations/${job.id}/reject`, { reason: reason.value.trim() || undefined });
        done();
      }, "Rejected: the draft is deleted");
    });

    return append(li, [
      h("h2", { class: "prompt", text: job.prompt }),
      h("p", { class: "hint" },
        who ? [h("a", { href: `/app/@${who.acct}`, text: handleOf(who) }), " (", h("a", { href: `/app/admin/accounts/${who.id}`, text: "moderate" }), ") · "] : null,
        "asked ", timeAgo(job.created_at), job.remix_id ? " · a remix" : "",
        job.cameos.length ? ` · ${job.cameos.length} ${job.cameos.length === 1 ? "cameo" : "cameos"}` : ""),
      h("p", { class: "verdict" }, h("strong", { text: "Safety check: " }),
        job.safety?.reason ?? (typeof job.safety?.score === "number" ? `score ${job.safety.score.toFixed(2)}` : "held")),
      stage, itemProblem,
      h("div", { class: "card-actions" }, release), rejectForm]);
  }

  await load();
}
