// Search: people (`@user@host` is looked up on its server), hashtags and posts by their link.
// The query lives in the address (/app/search?q=...), so a search can be shared or reloaded.

import { get } from "../api.js";
import { displayName, errorLine, field, h, onSubmit } from "../dom.js";
import { navigate } from "../router.js";
import { videoOf } from "../ui/reel.js";

export default async function show(ctx) {
  const query = ctx.query.get("q")?.trim() ?? "";
  const input = h("input", { type: "search", name: "q", value: query, autocomplete: "off", enterkeyhint: "search" });
  const submit = h("button", { type: "submit", class: "button primary", text: "Search" });
  const problem = errorLine();
  const form = h("form", { role: "search", class: "search-form" },
    field("Search", input, "A name, @user@server, a #hashtag, or the link of a post"), submit, problem);
  onSubmit(form, submit, problem, async () => {
    if (input.value.trim()) navigate(`/app/search?q=${encodeURIComponent(input.value.trim())}`);
  });
  const results = h("div", { class: "search-results", "aria-live": "polite" });
  ctx.root.append(h("section", { class: "screen" }, h("h1", { text: "Search" }), form, results));
  if (!query) {
    input.focus();
    return;
  }
  results.setAttribute("aria-busy", "true");
  const found = await get(`/api/v2/search?q=${encodeURIComponent(query)}&resolve=true`);
  if (ctx.signal.aborted) return;
  results.removeAttribute("aria-busy");
  const sections = [
    section("People", found.accounts, accountItem),
    section("Hashtags", found.hashtags, tagItem),
    section("Posts", found.statuses, statusItem),
  ].filter(Boolean);
  results.replaceChildren(...(sections.length ? sections : [h("p", { class: "hint", text: `Nothing found for “${query}”.` })]));
}

function section(title, items, draw) {
  if (!items?.length) return null;
  return h("section", {}, h("h2", { text: title }), h("ul", { class: "search-list" }, items.map((item) => h("li", {}, draw(item)))));
}

// Local accounts have a bare username as acct, remote ones user@host: both make the app's path.
function accountItem(account) {
  return h("a", { class: "search-item", href: `/app/@${account.acct}` },
    h("img", { class: "avatar", src: account.avatar, alt: "", width: 40, height: 40 }),
    h("span", {}, h("strong", { text: displayName(account) }), h("span", { class: "acct", text: ` @${account.acct}` })));
}

function tagItem(tag) {
  return h("a", { class: "search-item", href: `/app/tags/${encodeURIComponent(tag.name)}`, text: `#${tag.name}` });
}

function statusItem(status) {
  const shown = status.reblog ?? status;
  const media = videoOf(shown);
  return h("a", { class: "search-item", href: `/app/@${shown.account.acct}/${shown.id}` },
    media ? h("img", { src: media.preview_url, alt: "", width: 40, height: 56, loading: "lazy" }) : null,
    h("span", {}, h("strong", { text: displayName(shown.account) }), h("span", { class: "acct", text: ` @${shown.account.acct}` }),
      h("span", { class: "search-text", text: textOf(shown.content) })));
}

// The post's words without its markup, for a one-line preview.
function textOf(html) {
  return new DOMParser().parseFromString(html ?? "", "text/html").body.textContent.trim();
}
