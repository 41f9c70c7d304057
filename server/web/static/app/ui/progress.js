// A generation's progress: "step 12 of 30", the time left, and a cancel button. It follows the
// job over Server-Sent Events and falls back to polling when the stream breaks.

import { get, post, streamEvents } from "../api.js";
import { announce, h, newId, sleep } from "../dom.js";

// States a job stays in (a held one until a moderator decides, maybe days later).
export const TERMINAL = new Set(["succeeded", "held", "failed", "cancelled", "discarded"]);
const POLL_MS = 1500;

const STATES = {
  waiting: "Waiting for every cameo owner to say yes",
  queued: "In the queue",
  running: "Rendering",
  succeeded: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
  held: "Held for review by a moderator",
  discarded: "Discarded",
};

// Calls onJob with the job at every change until it ends or `signal` aborts.
export async function watchJob(id, onJob, signal) {
  let last = null;
  const update = (job) => { last = job; onJob(job); };
  try {
    await streamEvents(`/api/v1/generations/${id}/events`, (event, data) => {
      if (event === "progress") update(JSON.parse(data));
    }, signal);
  } catch {
    // No stream (a proxy that buffers, a network change): poll instead.
  }
  while (!signal.aborted && !TERMINAL.has(last?.state)) {
    try {
      update(await get(`/api/v1/generations/${id}`));
    } catch {
      // Try again at the next tick.
    }
    if (!TERMINAL.has(last?.state)) await sleep(POLL_MS, signal);
  }
}

const eta = (seconds) => seconds < 60 ? `${Math.max(1, Math.round(seconds))} s` : `${Math.round(seconds / 60)} min`;

export function progressPanel() {
  const stateId = newId("gen-state");
  const state = h("p", { class: "gen-state", id: stateId });
  const bar = h("progress", { "aria-labelledby": stateId });
  const detail = h("p", { class: "hint gen-detail" });
  // Read out at each change of state and each quarter of the way, not at every step.
  const live = h("p", { class: "visually-hidden", "aria-live": "polite" });
  const cancel = h("button", { type: "button", class: "button danger", text: "Cancel", hidden: true });
  const element = h("div", { class: "progress-panel" }, state, bar, detail, live, cancel);
  let job = null;

  cancel.addEventListener("click", async () => {
    // A render may have run for minutes: one slip of the finger must not throw it away.
    if (!confirm("Cancel this render? What it has made so far is lost.")) return;
    try {
      update(await post(`/api/v1/generations/${job.id}/cancel`));
    } catch (error) {
      announce(error.message);
    }
  });

  function update(next) {
    job = next;
    const { step, total_steps: total } = job.progress;
    element.dataset.state = job.state;
    state.textContent = job.state === "running" && total ? `Rendering: step ${step} of ${total}` : STATES[job.state] ?? job.state;
    if (job.state === "running" || job.state === "succeeded") {
      bar.max = total || 1;
      bar.value = job.state === "succeeded" ? bar.max : step;
    } else {
      bar.removeAttribute("value"); // indeterminate while it waits
    }
    bar.hidden = !["waiting", "queued", "running", "succeeded"].includes(job.state);
    detail.textContent = job.state === "running" && job.eta_s != null ? `About ${eta(job.eta_s)} left`
      : job.state === "failed" ? job.failure_reason ?? ""
        : job.state === "queued" ? "A worker picks it up soon." : "";
    cancel.hidden = TERMINAL.has(job.state);
    // What is read out is what the bar shows, said again only when a quarter more is done.
    const moment = job.state === "running" && total ? `running ${Math.floor((4 * step) / total)}` : state.textContent;
    if (live.dataset.moment !== moment) {
      live.dataset.moment = moment;
      live.textContent = state.textContent;
    }
  }

  return { element, update };
}
