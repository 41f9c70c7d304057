// The app starts here: who is signed in, the navigation, then the screen the address names.

import { get } from "./api.js";
import { h } from "./dom.js";
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

const main = h("main", { id: "main", tabindex: "-1" });
document.getElementById("app").replaceChildren(mainNav(), main);
startBadges();
await start(main);
