// The reports queue (placeholder until the reports API is merged).

import { adminScreen } from "../../ui/admin.js";

export default async function show(ctx) {
  adminScreen(ctx, "Reports", "Reports from people here and from other servers.");
}
