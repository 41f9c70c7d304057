// Editing my profile: display name, bio, avatar and header, saved through Mastodon's
// PATCH /api/v1/accounts/update_credentials. The server crops the pictures (400×400, 1500×500).

import { get, patch } from "../api.js";
import { announce, errorLine, field, h, onSubmit } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";

const IMAGE_TYPES = "image/jpeg,image/png,image/webp";
// Mastodon's limits (the server says the same when refusing).
const MAX_NAME = 30;
const MAX_NOTE = 500;

// The bio as typed, from the HTML the server made of it: paragraphs and line breaks become blank
// lines and newlines again (links keep their whole address, which the HTML only hides).
function noteText(html) {
  const template = document.createElement("template");
  template.innerHTML = html ?? "";
  const paragraphs = [...template.content.querySelectorAll("p")];
  const blocks = paragraphs.length ? paragraphs : [template.content];
  return blocks.map((block) => {
    for (const br of block.querySelectorAll("br")) br.replaceWith("\n");
    return block.textContent;
  }).join("\n\n");
}

// A file input with a preview of what is chosen; the preview's object URL goes with the screen.
function picture(name, label, hint, current, shape, ctx) {
  const input = h("input", { type: "file", name, accept: IMAGE_TYPES });
  const preview = h("img", { class: `picture-preview ${shape}`, src: current, alt: `Your ${label.toLowerCase()}` });
  let url = null;
  const release = () => { if (url) URL.revokeObjectURL(url); url = null; };
  ctx.onLeave(release);
  input.addEventListener("change", () => {
    release();
    const [file] = input.files;
    if (!file) {
      preview.src = current;
      return;
    }
    url = URL.createObjectURL(file);
    preview.src = url; // a blob: URL of the chosen file, which h() would refuse as not http(s)
  });
  return { input, element: h("div", { class: "picture-field" }, preview, field(label, input, hint)) };
}

export default async function show(ctx) {
  const me = await get("/api/v1/accounts/verify_credentials");
  if (ctx.signal.aborted) return;
  const name = h("input", { name: "display_name", maxlength: MAX_NAME, value: me.display_name, autocomplete: "nickname" });
  const note = h("textarea", { name: "note", rows: 4, maxlength: MAX_NOTE, value: noteText(me.source?.note ?? me.note) });
  const avatar = picture("avatar", "Avatar", "PNG, JPEG or WebP. Cropped to a square from its middle.", me.avatar, "round", ctx);
  const header = picture("header", "Header", "PNG, JPEG or WebP. Cropped to 3:1 from its middle.", me.header, "wide", ctx);
  const problem = errorLine();
  const submit = h("button", { type: "submit", class: "button primary", text: "Save profile" });
  const form = h("form", { class: "stack profile-form" },
    header.element, avatar.element,
    field("Display name", name, `At most ${MAX_NAME} characters. Empty shows your username.`),
    field("Bio", note, `At most ${MAX_NOTE} characters. #hashtags and links work.`),
    problem, submit);

  onSubmit(form, submit, problem, async () => {
    const body = new FormData();
    body.append("display_name", name.value);
    body.append("note", note.value);
    if (avatar.input.files[0]) body.append("avatar", avatar.input.files[0]);
    if (header.input.files[0]) body.append("header", header.input.files[0]);
    const updated = await patch("/api/v1/accounts/update_credentials", body);
    session.me = { ...session.me, ...updated };
    announce("Profile saved");
    navigate(`/app/@${updated.acct}`);
  });

  ctx.root.append(h("section", { class: "screen narrow" },
    h("h1", { text: "Edit profile" }), form,
    h("p", {}, h("a", { href: `/app/@${me.acct}`, text: "Back to your profile" })),
    h("p", {}, h("a", { href: "/app/settings/archive", text: "Your archive, and imports from another server" }))));
}
