// Sign-up and sign-in. Signing in is OAuth's password grant without a client (a first-party
// login); either way the token goes to localStorage and into the Authorization header.

import { get, post } from "../api.js";
import { errorLine, field, h } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";

export default async function show(ctx) {
  const signup = ctx.params.mode === "signup";
  const next = ctx.query.get("next");
  const target = next && next.startsWith("/app") ? next : "/app/for-you";
  const other = `${signup ? "/app/login" : "/app/signup"}${next ? `?next=${encodeURIComponent(next)}` : ""}`;

  const username = h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const email = h("input", { name: "email", type: "email", autocomplete: "email", required: true });
  const password = h("input", { name: "password", type: "password", required: true, minlength: signup ? 8 : null,
    autocomplete: signup ? "new-password" : "current-password" });
  if (signup) {
    username.pattern = "[A-Za-z0-9_]{1,30}";
    username.maxLength = 30;
  }
  const problem = errorLine();
  const submit = h("button", { type: "submit", class: "button primary", text: signup ? "Create account" : "Sign in" });
  const form = h("form", { class: "stack" },
    field(signup ? "Username" : "Username or email", username, signup ? "Letters, digits and _ (up to 30)." : null),
    signup ? field("Email", email) : null,
    field("Password", password, signup ? "At least 8 characters." : null),
    problem, submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    submit.setAttribute("aria-busy", "true");
    try {
      const { access_token: token } = signup
        ? await post("/api/v1/accounts", { username: username.value, email: email.value, password: password.value })
        : await post("/oauth/token", { grant_type: "password", username: username.value, password: password.value });
      session.set(token, null);
      session.set(token, await get("/api/v1/accounts/verify_credentials"));
      navigate(target, { replace: true });
    } catch (error) {
      problem.textContent = error.message;
    } finally {
      submit.removeAttribute("aria-busy");
    }
  });

  ctx.root.append(h("section", { class: "screen narrow" },
    h("h1", { text: signup ? "Create your account" : "Sign in" }),
    h("p", { class: "hint", text: "Short AI-generated videos, made with consent." }),
    form,
    h("p", {}, signup ? "Have an account? " : "New here? ", h("a", { href: other, text: signup ? "Sign in" : "Create an account" }))));
}
