// Every screen of the app: a path under /app and the module that shows it. A screen module
// exports `default async function show(ctx)`; see router.js for ctx. `auth` screens need a
// signed-in person; `staff` ones a moderator or admin, and `admin` ones (staff too) an admin. An
// admin section is one more entry here (`staff: true`), one in ui/admin.js's SECTIONS and one
// module under screens/admin/.

const feed = () => import("./screens/feed.js");
const auth = () => import("./screens/auth.js");

export const routes = [
  { path: "/app", redirect: "/app/for-you" },
  { path: "/app/for-you", screen: feed, params: { source: "for_you" }, layout: "full", title: "For You" },
  { path: "/app/following", screen: feed, params: { source: "following" }, layout: "full", title: "Following", auth: true },
  { path: "/app/local", screen: feed, params: { source: "local" }, layout: "full", title: "Local" },
  { path: "/app/tags/:tag", screen: feed, params: { source: "tag" }, layout: "full", title: "Hashtag" },
  { path: "/app/search", screen: () => import("./screens/search.js"), title: "Search" },
  { path: "/app/login", screen: auth, params: { mode: "login" }, title: "Sign in" },
  { path: "/app/signup", screen: auth, params: { mode: "signup" }, title: "Create an account" },
  { path: "/app/compose", screen: () => import("./screens/composer.js"), title: "Create a video", auth: true },
  { path: "/app/remixes/:id", screen: () => import("./screens/remix.js"), title: "Remix", auth: true },
  { path: "/app/generations/:id", screen: () => import("./screens/generation.js"), title: "Generation", auth: true },
  { path: "/app/drafts", screen: () => import("./screens/drafts.js"), title: "Drafts", auth: true },
  { path: "/app/cameos", screen: () => import("./screens/cameos.js"), title: "Your cameos", auth: true },
  { path: "/app/cameos/new", screen: () => import("./screens/cameo_form.js"), title: "New cameo", auth: true },
  { path: "/app/cameos/:id", screen: () => import("./screens/cameo_form.js"), title: "Edit cameo", auth: true },
  { path: "/app/consent", screen: () => import("./screens/consent.js"), title: "Consent inbox", auth: true },
  { path: "/app/settings/profile", screen: () => import("./screens/profile_edit.js"), title: "Edit profile", auth: true },
  { path: "/app/settings/archive", screen: () => import("./screens/archive.js"), title: "Your archive", auth: true },
  { path: "/app/settings/move", screen: () => import("./screens/account_move.js"), title: "Move your account", auth: true },
  { path: "/app/notifications", screen: () => import("./screens/notifications.js"), title: "Notifications", auth: true },
  { path: "/app/admin", redirect: "/app/admin/reports" },
  { path: "/app/admin/reports", screen: () => import("./screens/admin/reports.js"), title: "Reports", staff: true },
  { path: "/app/admin/reports/:id", screen: () => import("./screens/admin/report.js"), title: "Report", staff: true },
  { path: "/app/admin/generations", screen: () => import("./screens/admin/generations.js"), title: "Held videos", staff: true },
  { path: "/app/admin/accounts", screen: () => import("./screens/admin/accounts.js"), title: "Users", staff: true },
  { path: "/app/admin/accounts/:id", screen: () => import("./screens/admin/account.js"), title: "User", staff: true },
  { path: "/app/admin/domains", screen: () => import("./screens/admin/domains.js"), title: "Domain rules", staff: true, admin: true },
  { path: "/app/admin/prompts", screen: () => import("./screens/admin/prompts.js"), title: "Prompt policy", staff: true, admin: true },
  { path: "/app/@:acct", screen: () => import("./screens/profile.js"), title: "Profile" },
  { path: "/app/@:acct/:id", screen: () => import("./screens/post.js"), title: "Video", layout: "full" },
];

// The main navigation. `secondary` links are in the phone's bar only through the profile page.
export const links = [
  { href: "/app/for-you", label: "Home", icon: "home", match: /^\/app\/(for-you|following|local|tags\/)/ },
  { href: "/app/search", label: "Search", icon: "search" },
  { href: "/app/compose", label: "Create", icon: "plus", auth: true },
  { href: "/app/consent", label: "Consent", icon: "shield", auth: true },
  { href: "/app/notifications", label: "Notifications", icon: "bell", auth: true },
  { href: "/app/drafts", label: "Drafts", icon: "film", auth: true, secondary: true },
  { href: "/app/cameos", label: "Cameos", icon: "face", auth: true, secondary: true, match: /^\/app\/cameos/ },
  { href: "/app/admin", label: "Admin", icon: "flag", auth: true, staff: true, match: /^\/app\/admin/ },
];
