// The app starts here: who is signed in, the navigation, then the screen the address names.

import { get } from "./api.js";
import { h, serverHtml } from "./dom.js";
import { start } from "./router.js";
import { session } from "./session.js";
import { startBadges } from "./ui/badges.js";
import { mainNav } from "./ui/nav.js";

if (session.token) {
  try {
    session.me = await get("/api/v1/accounts/verify_credentials");
  } catch {
    // A 401 signed us out in api.js; a server that is down shows its error on the screen.
  }
}

// The server's announcements (Mastodon's), as a banner over every screen: a server closing down
// says so there, with the way to one's archive.
let banner = null;
if (session.me) {
  const announcements = await get("/api/v1/announcements").catch(() => []);
  if (announcements.length) {
    banner = h("aside", { class: "banner", role: "status" },
      ...announcements.map((a) => serverHtml(a.content)),
      h("a", { href: "/app/settings/archive", text: "Download your archive" }));
  }
}

const main = h("main", { id: "main", tabindex: "-1" });
document.getElementById("app").replaceChildren(...(banner ? [banner] : []), mainNav(), main);
startBadges();
await start(main);
