// The streaming API: one WebSocket for the page (Mastodon's /api/v1/streaming), shared by every
// screen that listens. The token travels as the WebSocket's subprotocol, as Mastodon's web app
// sends it (a browser cannot set an Authorization header on a WebSocket). When the socket
// breaks it is opened again after a growing pause, and whoever listens to `onStreamState` goes
// back to asking the server itself (polling) meanwhile.

import { session } from "./session.js";

// The server shows apps Mastodon's notification types only; this one names Likeness's own too.
export const OWN_TYPES = ["quote", "remix_request", "remix_use", "cameo_used", "remix_authorized",
  "remix_rejected", "remix_revoked", "report_resolved", "shutdown_notice"].map((t) => `include_types[]=${t}`).join("&");

const RETRY_MS = [1_000, 2_000, 5_000, 15_000, 30_000];

const subscriptions = new Map(); // key -> { message, listeners }
const stateListeners = new Set();
let socket = null;
let retries = 0;
let retryTimer = null;

export const stream = { open: false };

// Call `fn(open)` whenever the stream opens or breaks.
export function onStreamState(fn) {
  stateListeners.add(fn);
}

// Listen to one stream (`user`, `public:local`, `hashtag` with `{ tag }`): `fn(event, payload)`
// for each event, the payload parsed (a deleted status's id stays a string). Returns the
// function that stops listening.
export function subscribe(name, params, fn) {
  const message = { stream: name, ...params };
  const key = JSON.stringify(message);
  let entry = subscriptions.get(key);
  if (!entry) {
    entry = { message, listeners: new Set() };
    subscriptions.set(key, entry);
    send({ type: "subscribe", ...message });
  }
  entry.listeners.add(fn);
  connect();
  return () => {
    entry.listeners.delete(fn);
    if (entry.listeners.size || subscriptions.get(key) !== entry) return;
    subscriptions.delete(key);
    send({ type: "unsubscribe", ...message });
  };
}

function send(message) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function setOpen(open) {
  if (stream.open === open) return;
  stream.open = open;
  stateListeners.forEach((fn) => fn(open));
}

function connect() {
  if (socket || retryTimer || !session.token || !subscriptions.size) return;
  // Like the notifications list, the stream brings Likeness's own types only to a client that
  // names them.
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/streaming?${OWN_TYPES}`;
  const opened = new WebSocket(url, session.token);
  socket = opened;
  opened.addEventListener("open", () => {
    retries = 0;
    for (const { message } of subscriptions.values()) send({ type: "subscribe", ...message });
    setOpen(true);
  });
  opened.addEventListener("message", (event) => deliver(JSON.parse(event.data)));
  opened.addEventListener("close", () => {
    if (socket !== opened) return; // closed on purpose (signed out)
    socket = null;
    setOpen(false);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect();
    }, RETRY_MS[Math.min(retries++, RETRY_MS.length - 1)]);
  });
}

function deliver(message) {
  if (!message.event || !Array.isArray(message.stream)) return; // an error answer: nothing to show
  const [name, tag] = message.stream;
  for (const entry of subscriptions.values()) {
    if (entry.message.stream !== name || (tag !== undefined && entry.message.tag !== tag)) continue;
    const payload = message.event === "delete" ? message.payload : JSON.parse(message.payload);
    entry.listeners.forEach((fn) => fn(message.event, payload));
  }
}

// Signing in or out starts a new socket for the new token, or none.
session.onChange(() => {
  const old = socket;
  socket = null;
  old?.close();
  clearTimeout(retryTimer);
  retryTimer = null;
  retries = 0;
  setOpen(false);
  connect();
});
