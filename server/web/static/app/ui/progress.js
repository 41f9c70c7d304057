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

// What is left of a running render, honestly: the last estimate counted down from the moment it
// came (`since`, in ms of `now`), and once every step is done or the estimate has run out, what
// the worker is doing rather than a number that stopped being true.
export function timeLeft(job, since, now) {
  if (job.state !== "running") return "";
  const { step, total_steps: total } = job.progress;
  if (total && step >= total) return "Encoding the video…";
  if (job.eta_s == null) return "";
  const left = job.eta_s - (now - since) / 1000;
  return left >= 0.5 ? `About ${eta(left)} left` : "Finishing…";
}

export function progressPanel() {
  const stateId = newId("gen-state");
  const state = h("p", { class: "gen-state", id: stateId });
  const bar = h("progress", { "aria-labelledby": stateId });
  const detail = h("p", { class: "hint gen-detail" });
  // Read out at each change of state, each quarter of the way and when the time left turns
  // into words (Finishing…, Encoding…), not at every step or second.
  const live = h("p", { class: "visually-hidden", "aria-live": "polite" });
  const cancel = h("button", { type: "button", class: "button danger", text: "Cancel", hidden: true });
  const element = h("div", { class: "progress-panel" }, state, bar, detail, live, cancel);
  let job = null;
  // The estimate's moment: when the step or the estimate last changed (a poll that brings the
  // same numbers again is no news), and the countdown's timer while it runs.
  let estimate = { key: null, since: 0 };
  let ticker = null;

  cancel.addEventListener("click", async () => {
    // A render may have run for minutes: one slip of the finger must not throw it away.
    if (!confirm("Cancel this render? What it has made so far is lost.")) return;
    try {
      update(await post(`/api/v1/generations/${job.id}/cancel`));
    } catch (error) {
      announce(error.message);
    }
  });

  // The words under the bar, the bar's value text and what is read out, from one reading.
  function draw() {
    const { step, total_steps: total } = job.progress;
    const left = timeLeft(job, estimate.since, performance.now());
    detail.textContent = left || (job.state === "failed" ? job.failure_reason ?? ""
      : job.state === "queued" ? "A worker picks it up soon." : "");
    const said = left ? `${state.textContent}. ${left}` : state.textContent;
    if (job.state === "running") bar.setAttribute("aria-valuetext", said);
    else bar.removeAttribute("aria-valuetext");
    const phase = /^About/.test(left) ? "counting" : left;
    const moment = job.state === "running" && total ? `running ${Math.floor((4 * step) / total)} ${phase}` : said;
    if (live.dataset.moment !== moment) {
      live.dataset.moment = moment;
      live.textContent = said;
    }
  }

  function update(next) {
    job = next;
    const { step, total_steps: total } = job.progress;
    const key = `${step}/${job.eta_s}`;
    if (estimate.key !== key) estimate = { key, since: performance.now() };
    element.dataset.state = job.state;
    state.textContent = job.state === "running" && total ? `Rendering: step ${step} of ${total}` : STATES[job.state] ?? job.state;
    if (job.state === "running" || job.state === "succeeded") {
      bar.max = total || 1;
      bar.value = job.state === "succeeded" ? bar.max : step;
    } else {
      bar.removeAttribute("value"); // indeterminate while it waits
    }
    bar.hidden = !["waiting", "queued", "running", "succeeded"].includes(job.state);
    cancel.hidden = TERMINAL.has(job.state);
    draw();
    // The countdown goes on between events, and stops with the render or the screen.
    if (job.state === "running" && !ticker) ticker = setInterval(() => element.isConnected ? draw() : stop(), 1000);
    if (job.state !== "running") stop();
  }

  function stop() {
    clearInterval(ticker);
    ticker = null;
  }

  return { element, update };
}
