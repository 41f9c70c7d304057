// Client-side routing over the History API. The server answers every /app/... path with the
// same shell, so a reload or a shared link lands on the right screen.

import { h } from "./dom.js";
import { routes } from "./routes.js";
import { session } from "./session.js";

const compiled = routes.map((route) => ({
  ...route,
  regex: new RegExp(`^${route.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:(\w+)/g, "(?<$1>[^/]+)")}/?$`),
}));

// What a screen about one thing says when the API answers that it is not there (404 or 410),
// by route path: a deleted post is not an error. Other screens say "Not found" and why.
const MISSING = {
  "/app/@:acct/:id": ["This post was deleted", "Its author or a moderator removed it, or it is not shown to you."],
};

let root;
let current = null; // { controller, leave: [fn] }
const listeners = new Set();

export function onRoute(fn) {
  listeners.add(fn);
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  return render(true);
}

export function start(mainElement) {
  root = mainElement;
  addEventListener("popstate", () => render(true));
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("a[href]");
    if (!link || link.target || link.hasAttribute("download") || event.defaultPrevented || event.button !== 0
        || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(link.href);
    if (url.origin !== location.origin || !url.pathname.startsWith("/app")) return;
    event.preventDefault();
    if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
  });
  return render(false);
}

function match(pathname) {
  for (const route of compiled) {
    const found = route.regex.exec(pathname);
    if (found) {
      const params = Object.fromEntries(Object.entries(found.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
      return { route, params: { ...route.params, ...params } };
    }
  }
  return null;
}

async function render(moveFocus) {
  current?.controller.abort();
  current?.leave.forEach((fn) => fn());
  const found = match(location.pathname);
  if (found?.route.redirect) return navigate(found.route.redirect, { replace: true });
  if ((found?.route.auth || found?.route.staff) && !session.token) {
    return navigate(`/app/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  }
  const state = { controller: new AbortController(), leave: [] };
  current = state;
  root.replaceChildren();
  root.className = found?.route.layout ?? "";
  document.title = found ? `${found.route.title} · Likeness` : "Not found · Likeness";
  listeners.forEach((fn) => fn(location.pathname));
  const refused = !found ? null : found.route.admin && !session.isAdmin() ? "admins"
    : found.route.staff && !session.isStaff() ? "moderators and admins" : null;
  if (!found || refused) {
    root.append(h("section", { class: "screen" }, h("h1", { text: found ? `For ${refused} only` : "Nothing here" }),
      refused ? h("p", { text: `This page is for the ${refused} of this server.` }) : null,
      h("p", {}, h("a", { href: "/app/for-you", text: "Back to the feed" }))));
  } else {
    // What a screen gets: where to draw, the path's parameters and query, a signal aborted when
    // the person leaves the screen, and onLeave() for anything else to stop then.
    const ctx = {
      root, params: found.params, query: new URLSearchParams(location.search),
      signal: state.controller.signal, onLeave: (fn) => state.leave.push(fn),
    };
    try {
      const module = await found.route.screen();
      if (current !== state) return;
      await module.default(ctx);
    } catch (error) {
      if (current !== state || state.controller.signal.aborted) return;
      const [heading, why] = error.status === 404 || error.status === 410
        ? MISSING[found.route.path] ?? ["Not found", error.message] : ["Something went wrong", error.message];
      root.replaceChildren(h("section", { class: "screen" }, h("h1", { text: heading }),
        h("p", { class: "error", role: "alert", text: why }),
        h("p", {}, h("a", { href: "/app/for-you", text: "Back to the feed" }))));
    }
  }
  // A new screen is announced by moving focus to its heading, as a page load would.
  const heading = root.querySelector("h1");
  if (moveFocus && current === state && heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}
