// Actions that need an account send a visitor to sign in, and back here afterwards.

import { navigate } from "../router.js";
import { session } from "../session.js";

export function requireSignIn() {
  if (session.token) return true;
  navigate(`/app/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  return false;
}
