// A finished draft: watch it, write a caption, choose who sees it, publish.

import { errorLine, field, h } from "../dom.js";

export function publishForm(media, publish) {
  const video = h("video", { class: "draft-video", src: media.url, poster: media.preview_url, controls: true,
    "aria-label": media.description || "Your draft video" });
  video.muted = true;
  video.loop = true;
  video.setAttribute("playsinline", "");
  const caption = h("textarea", { name: "status", rows: 3, maxlength: 2000 });
  const visibility = h("select", { name: "visibility" },
    h("option", { value: "public", text: "Everyone" }),
    h("option", { value: "unlisted", text: "Everyone, but not in public feeds" }),
    h("option", { value: "private", text: "My followers" }));
  const problem = errorLine();
  const submit = h("button", { type: "submit", class: "button primary", text: "Publish" });
  const form = h("form", { class: "stack publish-form" },
    h("div", { class: "draft-preview" }, video, h("span", { class: "ai-label", text: "AI-generated" })),
    field("Caption", caption, "Hashtags (#like #this) help people find it."),
    field("Who can see it", visibility),
    problem, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    submit.setAttribute("aria-busy", "true");
    try {
      await publish({ status: caption.value, visibility: visibility.value });
    } catch (error) {
      problem.textContent = error.message;
    } finally {
      submit.removeAttribute("aria-busy");
    }
  });
  return form;
}
