// Building the page without HTML strings: whatever a string holds, it ends up as text. The one
// way in for markup is serverHtml(), for HTML the server sanitised when it stored it.

const PROPERTIES = new Set(["value", "checked", "muted"]);

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "on") for (const [name, fn] of Object.entries(value)) el.addEventListener(name, fn);
    else if (PROPERTIES.has(key)) el[key] = value;
    else if (key === "href" || key === "src" || key === "poster") {
      const url = safeUrl(value);
      if (url) el.setAttribute(key, url);
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// An absolute http(s) URL, or null: remote data must not give us javascript: or data: links.
export function safeUrl(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const parsed = new URL(url, location.origin);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

// Only for HTML the server sanitised when storing it: Status.content and Account.note.
export function serverHtml(html, className = "content") {
  const el = document.createElement("div");
  el.className = className;
  el.innerHTML = html ?? "";
  for (const link of el.querySelectorAll("a[href]")) {
    const url = new URL(link.href, location.origin);
    // Our own profiles and hashtags open in the app; everything else leaves it.
    if (url.origin === location.origin && /^\/(@[^/]+|tags\/[^/]+)\/?$/.test(url.pathname)) {
      link.href = `/app${url.pathname}`;
    } else {
      link.target = "_blank";
      link.rel = "noopener noreferrer nofollow";
    }
  }
  return el;
}

let uid = 0;
export const newId = (prefix = "id") => `${prefix}-${++uid}`;

// Said by screen readers (the shell's aria-live region) and shown for a moment.
export function announce(text, { visible = true } = {}) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  requestAnimationFrame(() => { region.textContent = text; });
  if (!visible) return;
  let toast = document.querySelector(".toast");
  if (!toast) {
    toast = h("div", { class: "toast", "aria-hidden": "true" });
    document.body.append(toast);
  }
  toast.textContent = text;
  toast.classList.add("shown");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => toast.classList.remove("shown"), 3500);
}

export const reducedMotion = () => matchMedia("(prefers-reduced-motion: reduce)").matches;

export function count(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1).replace(/\.0$/, "")}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1).replace(/\.0$/, "")}K`;
  return String(n ?? 0);
}

export function timeAgo(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  const [value, unit] = seconds < 60 ? [seconds, "s"] : seconds < 3600 ? [seconds / 60, "min"]
    : seconds < 86400 ? [seconds / 3600, "h"] : [seconds / 86400, "d"];
  const time = h("time", { datetime: iso, title: new Date(iso).toLocaleString() });
  time.textContent = `${Math.floor(value)} ${unit} ago`;
  return time;
}

export const displayName = (account) => account.display_name || account.username;

// A labelled form field. The hint sits outside the label, tied to the control by
// aria-describedby, so that the control's name stays short.
export function field(labelText, control, hint) {
  control.id ||= newId("field");
  const hintEl = hint ? h("span", { class: "hint", id: newId("hint"), text: hint }) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { class: "label", for: control.id, text: labelText }), control, hintEl);
}

// A form's error line, read out when it changes.
export function errorLine() {
  return h("p", { class: "error", role: "alert" });
}

// A form's submit: the error line cleared, the button busy while `action` runs, its error shown.
export function onSubmit(form, submit, problem, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    submit.setAttribute("aria-busy", "true");
    try {
      await action();
    } catch (error) {
      problem.textContent = error.message;
    } finally {
      submit.removeAttribute("aria-busy");
    }
  });
}

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
