// The JSON API, with the bearer token, Mastodon's Link paging and Server-Sent Events.

import { session } from "./session.js";

class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.status = status;
    this.body = body; // the JSON error body, when there is one (some carry details, e.g. `errors`)
  }
}

function headers(extra = {}) {
  return session.token ? { ...extra, Authorization: `Bearer ${session.token}` } : extra;
}

export async function request(method, path, body, { accept = "application/json" } = {}) {
  const init = { method, headers: headers({ Accept: accept }) };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    let problem = null;
    try {
      problem = await response.json();
      message = problem.error_description || problem.error || message;
    } catch { /* not JSON: keep the status line */ }
    // A token the server no longer knows (revoked elsewhere): sign out here too.
    if (response.status === 401 && session.token) session.clear();
    throw new ApiError(response.status, message, problem);
  }
  return response;
}

export const get = async (path) => (await request("GET", path)).json();
export const post = async (path, body = {}) => (await request("POST", path, body)).json();
export const patch = async (path, body) => (await request("PATCH", path, body)).json();
export const put = async (path, body) => (await request("PUT", path, body)).json();
export const del = async (path) => (await request("DELETE", path)).json();

// One page of a list and the path of the next one (from the Link header), or null.
export async function page(path) {
  const response = await request("GET", path);
  return { items: await response.json(), next: nextLink(response.headers.get("Link")) };
}

function nextLink(header) {
  const match = /<([^>]+)>;\s*rel="next"/.exec(header ?? "");
  if (!match) return null;
  const url = new URL(match[1], location.origin);
  return url.origin === location.origin ? url.pathname + url.search : null;
}

// A file the server gives only with the token (a held draft, a CSV export), as a blob: URL for
// a <video> or a download link. Revoke it with URL.revokeObjectURL when done.
// The token goes to this server only.
export async function blobUrl(path, accept = "*/*") {
  const url = new URL(path, location.origin);
  if (url.origin !== location.origin) throw new ApiError(0, "that file is on another server");
  const response = await request("GET", url.pathname + url.search, undefined, { accept });
  return URL.createObjectURL(await response.blob());
}

// Server-Sent Events read with fetch, since EventSource cannot send the Authorization header.
// Resolves when the server ends the stream; rejects if it breaks.
export async function streamEvents(path, onEvent, signal) {
  const response = await fetch(path, { headers: headers({ Accept: "text/event-stream" }), signal });
  if (!response.ok || !response.body) throw new ApiError(response.status, "no event stream");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon === 0) continue; // a comment (keep-alive)
        const name = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (name === "event") event = text;
        else if (name === "data") data.push(text);
      }
      if (data.length) onEvent(event, data.join("\n"));
    }
  }
}

// An account by handle ("alice", "bob@example.org"), asking its server when we do not know it.
export async function findAccount(handle) {
  const acct = handle.trim().replace(/^@/, "");
  try {
    return await get(`/api/v1/accounts/lookup?acct=${encodeURIComponent(acct)}`);
  } catch (error) {
    if (error.status !== 404 || !acct.includes("@") || !session.token) throw error;
  }
  const found = await get(`/api/v2/search?q=${encodeURIComponent("@" + acct)}&resolve=true&type=accounts`);
  if (!found.accounts.length) throw new ApiError(404, `no account @${acct} found`);
  return found.accounts[0];
}

// An account by its ActivityPub id (a remix names cameo owners so), remembered for the page.
const byUri = new Map();
export function accountByUri(uri) {
  if (!byUri.has(uri)) {
    byUri.set(uri, get(`/api/v2/search?q=${encodeURIComponent(uri)}&resolve=true`)
      .then((found) => found.accounts[0] ?? null, () => null));
  }
  return byUri.get(uri);
}
