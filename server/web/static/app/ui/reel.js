// One video on one screen: the player with its "AI-generated" label, who made it, the caption,
// and the actions (like, comment, boost, share, remix, sound, and For You steering).

import { post } from "../api.js";
import { announce, count, displayName, h, newId, reducedMotion, safeUrl, serverHtml } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { credits } from "./credits.js";
import { openDialog } from "./dialog.js";
import { openReport } from "./report.js";
import { icon } from "./icons.js";
import { requireSignIn } from "./signin.js";
import { openSteering } from "./steer.js";
import { openThread } from "./thread.js";

// Sound is one setting for the whole page: muted until the person asks (browsers only autoplay
// muted video), then on for every video that follows.
export const sound = { on: false };

export function setSound(on) {
  sound.on = on;
  for (const video of document.querySelectorAll("video.reel-video")) video.muted = !on;
  for (const button of document.querySelectorAll("button.sound")) {
    button.setAttribute("aria-pressed", String(on));
    button.replaceChildren(icon(on ? "soundOn" : "soundOff"), h("span", { class: "action-label", text: "Sound" }));
  }
  document.body.classList.toggle("sound-on", on);
  announce(on ? "Sound on" : "Sound off", { visible: false });
}

export const videoOf = (status) => status.media_attachments.find((m) => m.type === "video" || m.type === "gifv");

// An action beside the video: its icon over a word, the count where it has one (how many liked)
// or else a short form of its name (`short`, a word of `label`, so that what is seen is part of
// what is read out). The full name is the tooltip and the accessible name.
function actionButton(iconName, label, { pressed, value, short = label, onClick, className = "" }) {
  const button = h("button", {
    type: "button", class: `action ${className}`.trim(), title: label,
    "aria-pressed": pressed === undefined ? null : String(pressed), on: { click: onClick },
  });
  let shown = value;
  button.update = (newPressed, newValue) => {
    if (newPressed !== undefined) button.setAttribute("aria-pressed", String(newPressed));
    if (newValue !== undefined) shown = newValue;
    const text = shown === undefined ? short : count(shown);
    button.setAttribute("aria-label", shown === undefined ? label : `${label} ${text}`);
    button.replaceChildren(icon(iconName), h("span", { class: shown === undefined ? "action-label" : "count", text }));
  };
  button.update(pressed, value);
  return button;
}

// An action that must not run twice at once; the button stays focusable meanwhile.
function once(fn) {
  let busy = false;
  return async () => {
    if (busy) return;
    busy = true;
    try {
      await fn();
    } catch (error) {
      announce(error.message);
    } finally {
      busy = false;
    }
  };
}

export function reel(status, { steer = false } = {}) {
  const shown = status.reblog ?? status;
  const media = videoOf(shown);
  const author = shown.account;
  const titleId = newId("reel-title");

  const video = h("video", {
    class: "reel-video", poster: media.preview_url, preload: "none",
    "aria-label": media.description || `Video by ${displayName(author)}`,
  });
  video.muted = !sound.on;
  video.loop = true;
  video.playsInline = true;
  video.setAttribute("playsinline", "");
  // A tap on the video turns the sound on or off.
  video.addEventListener("click", () => setSound(!sound.on));

  const playButton = h("button", { type: "button", class: "play-overlay", hidden: true, title: "Play",
    "aria-label": "Play", on: { click: () => play() } }, icon("play"));

  const play = () => video.play().then(() => { playButton.hidden = true; }, () => { playButton.hidden = false; });

  const like = actionButton("heart", "Like", {
    pressed: shown.favourited, value: shown.favourites_count,
    onClick: once(async () => {
      if (!requireSignIn()) return;
      const updated = await post(`/api/v1/statuses/${shown.id}/${shown.favourited ? "unfavourite" : "favourite"}`);
      Object.assign(shown, { favourited: updated.favourited, favourites_count: updated.favourites_count });
      like.update(shown.favourited, shown.favourites_count);
      announce(shown.favourited ? "Liked" : "Like removed", { visible: false });
    }),
  });

  const comments = actionButton("comment", "Comments", {
    value: shown.replies_count,
    onClick: () => openThread(shown, { onCount: (n) => comments.update(undefined, n) }),
  });

  const boost = actionButton("boost", "Boost", {
    pressed: shown.reblogged, value: shown.reblogs_count,
    onClick: once(async () => {
      if (!requireSignIn()) return;
      const updated = await post(`/api/v1/statuses/${shown.id}/${shown.reblogged ? "unreblog" : "reblog"}`);
      const original = updated.reblog ?? updated;
      Object.assign(shown, { reblogged: original.reblogged, reblogs_count: original.reblogs_count });
      boost.update(shown.reblogged, shown.reblogs_count);
      announce(shown.reblogged ? "Boosted" : "Boost removed", { visible: false });
    }),
  });

  const share = actionButton("share", "Copy link", {
    short: "Link",
    onClick: async () => {
      const url = safeUrl(shown.url) ?? safeUrl(shown.uri);
      try {
        await navigator.clipboard.writeText(url);
        announce("Link copied");
      } catch {
        const input = h("input", { type: "url", readonly: true, value: url, "aria-label": "Link to this video" });
        openDialog("Link to this video", h("div", { class: "sheet-body" }, input));
        input.select();
      }
    },
  });

  const remix = actionButton("remix", "Remix", {
    onClick: () => {
      if (!requireSignIn()) return;
      const query = new URLSearchParams((shown.cameos ?? []).map((c) => ["cameo", c.cameo]));
      navigate(`/app/compose${query.size ? `?${query}` : ""}`);
    },
  });

  const soundButton = actionButton(sound.on ? "soundOn" : "soundOff", "Sound", {
    pressed: sound.on, onClick: () => setSound(!sound.on), className: "sound",
  });

  const more = steer && session.token && !session.isMe(author)
    ? actionButton("more", "More or less like this", { short: "More", onClick: () => openSteering(shown) })
    : null;

  const report = session.isMe(author) ? null : actionButton("flag", "Report", {
    onClick: () => openReport(`this video by @${author.acct}`, author, { account_id: author.id, status_ids: [shown.id] }),
  });

  // The label says what is known: "AI-generated" where the post says so (this server's renders,
  // or a poster's own word); a video from another server that does not say so is flagged, since
  // this server cannot know; a local upload not declared AI-generated is a camera's, and has none.
  const remote = author.acct.includes("@");
  const label = shown.ai_generated
    ? h("span", { class: "ai-label", text: "AI-generated" })
    : remote ? h("span", { class: "ai-label unlabelled", text: "Not labelled as AI-generated by its server" }) : null;

  const caption = serverHtml(shown.content, "content reel-caption");
  const sensitive = shown.sensitive || shown.spoiler_text;
  const veil = sensitive
    ? h("div", { class: "veil" },
      h("p", { text: shown.spoiler_text || "Sensitive video" }),
      h("button", { type: "button", class: "button", on: { click: () => { veil.remove(); play(); } } }, "Show"))
    : null;

  const element = h("article", { class: "reel", tabindex: "-1", "aria-labelledby": titleId, "data-status-id": shown.id },
    h("div", { class: "reel-stage" },
      video, label, playButton, veil,
      h("p", { class: "sound-hint", "aria-hidden": "true", text: "Tap for sound" }),
      h("div", { class: "reel-info" },
        status.reblog ? h("p", { class: "boosted", text: `${displayName(status.account)} boosted` }) : null,
        h("h2", { id: titleId, class: "reel-author" },
          h("a", { href: `/app/@${author.acct}` },
            h("img", { class: "avatar", src: author.avatar, alt: "", width: 36, height: 36 }),
            h("span", { text: displayName(author) })),
          h("span", { class: "acct", text: ` @${author.acct}` })),
        caption, credits(shown)),
      h("div", { class: "reel-actions" }, like, comments, boost, share, remix, soundButton, more, report)));

  return {
    element,
    status: shown,
    preload() {
      if (!video.getAttribute("src")) video.src = safeUrl(media.url);
      video.preload = "auto";
    },
    activate() {
      this.preload();
      element.dataset.active = "true";
      video.muted = !sound.on;
      if (veil?.isConnected) return; // its Show button starts the video
      // With reduced motion nothing starts moving by itself: the play button starts it.
      if (reducedMotion()) playButton.hidden = false;
      else play();
    },
    deactivate() {
      delete element.dataset.active;
      video.pause();
    },
    unload() {
      if (!video.getAttribute("src")) return;
      video.pause();
      video.removeAttribute("src");
      video.load();
    },
    togglePlay() {
      if (video.paused) play();
      else video.pause();
    },
    like: () => like.click(),
  };
}
