// The full-screen vertical feed: one video per screen. Swipe or scroll (CSS scroll snapping),
// or the keys: j / arrow down for the next, k / arrow up for the previous, m for sound, space
// to pause, l to like. The video on screen plays muted and loops; the next one is preloaded.

import { page } from "../api.js";
import { announce, h, reducedMotion } from "../dom.js";
import { reel, setSound, sound, videoOf } from "../ui/reel.js";

const SOURCES = {
  following: { title: "Following", path: "/api/v1/timelines/home?limit=10" },
  for_you: { title: "For You", path: "/api/v1/timelines/for_you?limit=10" },
  local: { title: "Local", path: "/api/v1/timelines/public?local=true&limit=10" },
};
const TABS = [["/app/following", "Following"], ["/app/for-you", "For You"], ["/app/local", "Local"]];
const KEEP_LOADED = 2; // videos kept loaded on each side of the one on screen
const PAGES_PER_LOAD = 5; // pages read at most to find videos among text posts

export default async function show(ctx) {
  const source = ctx.params.source === "tag"
    ? { title: `#${ctx.params.tag}`, path: `/api/v1/timelines/tag/${encodeURIComponent(ctx.params.tag)}?limit=10` }
    : SOURCES[ctx.params.source];
  const list = h("div", { class: "feed", role: "feed", "aria-label": `${source.title} videos`, "aria-busy": "true" });
  ctx.root.append(h("section", { class: "feed-screen", "aria-describedby": "feed-keys" },
    h("h1", { class: "visually-hidden", text: source.title }),
    h("nav", { class: "feed-tabs", "aria-label": "Feeds" }, TABS.map(([href, label]) =>
      h("a", { href, text: label, "aria-current": location.pathname === href ? "page" : null }))),
    h("p", { id: "feed-keys", class: "visually-hidden",
      text: "Keys: J or arrow down for the next video, K or arrow up for the previous one, M for sound, space to pause, L to like." }),
    list));

  const cards = [];
  const seen = new Set();
  let next = source.path;
  let loading = null;
  let active = -1;

  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) setActive(Number(entry.target.dataset.index));
    }
  }, { root: list, threshold: 0.6 });

  function add(status) {
    const shown = status.reblog ?? status;
    if (!videoOf(shown) || seen.has(shown.id)) return false;
    seen.add(shown.id);
    const card = reel(status, { steer: ctx.params.source === "for_you" });
    Object.assign(card.element.dataset, { index: cards.length });
    card.element.setAttribute("aria-posinset", cards.length + 1);
    card.element.setAttribute("aria-setsize", "-1");
    cards.push(card);
    list.append(card.element);
    observer.observe(card.element);
    return true;
  }

  function more() {
    if (loading || !next) return loading;
    loading = (async () => {
      list.setAttribute("aria-busy", "true");
      try {
        for (let read = 0, added = 0; next && !added && read < PAGES_PER_LOAD; read++) {
          const { items, next: after } = await page(next);
          if (ctx.signal.aborted) return;
          next = items.length ? after : null;
          added = items.filter(add).length;
        }
      } catch (error) {
        announce(error.message);
      } finally {
        list.setAttribute("aria-busy", "false");
        loading = null;
      }
      if (!cards.length) list.replaceChildren(emptyState(ctx.params.source));
    })();
    return loading;
  }

  function setActive(index) {
    if (index === active || !cards[index]) return;
    cards[active]?.deactivate();
    active = index;
    cards.forEach((card, i) => { if (Math.abs(i - index) > KEEP_LOADED) card.unload(); });
    cards[index].activate();
    cards[index + 1]?.preload();
    if (cards.length - index <= 3) more();
  }

  function go(index) {
    const card = cards[Math.max(0, Math.min(cards.length - 1, index))];
    if (!card) return;
    card.element.scrollIntoView({ behavior: reducedMotion() ? "auto" : "smooth", block: "start" });
    card.element.focus({ preventScroll: true });
    setActive(Number(card.element.dataset.index));
  }

  const onKey = (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]") || document.querySelector("dialog[open]")) return;
    switch (event.key) {
      case "ArrowDown": case "j": case "PageDown": go(active + 1); break;
      case "ArrowUp": case "k": case "PageUp": go(active - 1); break;
      case "m": setSound(!sound.on); break;
      case "l": cards[active]?.like(); break;
      case " ":
        if (event.target.closest?.("button, a")) return; // space presses the focused button
        cards[active]?.togglePlay();
        break;
      default: return;
    }
    event.preventDefault();
  };
  document.addEventListener("keydown", onKey);
  ctx.onLeave(() => {
    document.removeEventListener("keydown", onKey);
    observer.disconnect();
    cards.forEach((card) => card.unload());
  });

  await more();
  if (cards.length) setActive(0);
}

function emptyState(source) {
  const text = source === "following"
    ? "Videos from the people you follow show up here."
    : "No videos here yet.";
  return h("div", { class: "feed-empty" }, h("p", { text }),
    h("p", {}, h("a", { class: "button", href: "/app/local", text: "Watch Local" }), " ",
      h("a", { class: "button primary", href: "/app/compose", text: "Create a video" })));
}
