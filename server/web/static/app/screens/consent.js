// The consent inbox: requests to use my cameos, to approve or reject; every use of them, here or
// on another server, drafts included; and revoking a use, which deletes it everywhere.

import { get, post } from "../api.js";
import { announce, append, displayName, h, safeUrl, timeAgo } from "../dom.js";
import { refreshBadges } from "../ui/badges.js";

export default async function show(ctx) {
  const heading = h("h1", { text: "Consent inbox" });
  const body = h("div");
  ctx.root.append(h("section", { class: "screen" }, heading,
    h("p", { class: "hint", text: "Who asks to use your cameos, and every video that does." }), body));

  const act = (request, action, done) => async () => {
    if (action === "revoke" && !confirm(`Withdraw consent for @${request.account.acct}'s video? It is deleted on ${request.instance} and hidden everywhere else.`)) return;
    try {
      await post(`/api/v1/remix_requests/${request.id}/${action}`);
      announce(done);
      await load();
      refreshBadges();
      heading.tabIndex = -1;
      heading.focus();
    } catch (error) {
      announce(error.message);
    }
  };

  const card = (request, ...actions) => h("li", { class: "request", "data-state": request.state },
    h("p", { class: "request-head" },
      h("a", { href: `/app/@${request.account.acct}` }, h("strong", { text: displayName(request.account) }), ` @${request.account.acct}`),
      " · ", h("span", { text: request.cameo.name }), " · ", timeAgo(request.created_at)),
    h("blockquote", { class: "prompt", text: request.prompt }),
    where(request),
    actions.length ? h("div", { class: "card-actions" }, actions) : null);

  async function load() {
    const requests = await get("/api/v1/remix_requests");
    const pending = requests.filter((r) => r.state === "pending");
    const uses = requests.filter((r) => r.state === "approved");
    const past = requests.filter((r) => r.state === "rejected" || r.state === "revoked");
    body.replaceChildren();
    append(body, [
      h("h2", { text: `Waiting for your answer (${pending.length})` }),
      pending.length ? h("ul", { class: "requests" }, pending.map((r) => card(r,
        h("button", { type: "button", class: "button primary", text: "Approve", "aria-label": `Approve @${r.account.acct}'s request`, on: { click: act(r, "approve", "Approved") } }),
        h("button", { type: "button", class: "button danger", text: "Reject", "aria-label": `Reject @${r.account.acct}'s request`, on: { click: act(r, "reject", "Rejected") } }))))
        : h("p", { class: "hint", text: "Nothing to answer." }),
      h("h2", { text: `Uses of your cameos (${uses.length})` }),
      uses.length ? h("ul", { class: "requests" }, uses.map((r) => card(r,
        h("button", { type: "button", class: "button danger", text: "Revoke", "aria-label": `Revoke @${r.account.acct}'s use`, on: { click: act(r, "revoke", "Consent withdrawn: the video is being deleted") } }))))
        : h("p", { class: "hint", text: "Nobody uses your cameos." }),
      past.length ? [h("h2", { text: "Refused and withdrawn" }), h("ul", { class: "requests" }, past.map((r) => card(r)))] : null]);
  }
  await load();
}

function where(request) {
  if (request.state === "pending") return h("p", { class: "hint", text: `Asked from ${request.instance}.` });
  if (request.state === "revoked") {
    return h("p", { class: "hint", text: request.reason ? `Withdrawn: ${request.reason}.` : "You withdrew your consent." });
  }
  if (request.state !== "approved") return h("p", { class: "hint", text: `Refused${request.reason ? `: ${request.reason}` : ""}.` });
  if (!request.published) return h("p", { class: "use", text: `Draft on ${request.instance}: not published yet.` });
  const link = safeUrl(request.post_uri);
  return h("p", { class: "use" }, `Published on ${request.instance}: `,
    link ? h("a", { href: link, target: "_blank", rel: "noopener noreferrer", text: "see the post" }) : null);
}
