// The main navigation: a bar at the bottom of a phone, a column on the left of a desktop.

import { h } from "../dom.js";
import { links } from "../routes.js";
import { onRoute } from "../router.js";
import { session } from "../session.js";
import { badgeText, badges, onBadges } from "./badges.js";
import { icon } from "./icons.js";

export function mainNav() {
  const nav = h("nav", { class: "appnav", "aria-label": "Main" });
  const draw = () => {
    const path = location.pathname;
    const items = links
      .filter((link) => !link.auth || session.token)
      .filter((link) => !link.staff || session.isStaff());
    const me = session.me
      ? { href: `/app/@${session.me.acct}`, label: "Profile", icon: "user", match: new RegExp(`^/app/@${session.me.acct}$`) }
      : { href: "/app/login", label: "Sign in", icon: "user", match: /^\/app\/(login|signup)/ };
    nav.replaceChildren(...[...items, me].map((link) => {
      const active = link.match ? link.match.test(path) : path === link.href;
      return h("a", { href: link.href, class: link.secondary ? "secondary" : null, "aria-current": active ? "page" : null },
        icon(link.icon), h("span", { text: link.label }), badge(badges[link.href]));
    }));
  };
  onRoute(draw);
  session.onChange(draw);
  onBadges(draw);
  draw();
  return nav;
}

// How many wait behind a link; its words are read out with the link's name ("Consent 2 new").
function badge(count) {
  if (!count) return null;
  return h("span", { class: "badge" }, badgeText(count), h("span", { class: "visually-hidden", text: " new" }));
}
