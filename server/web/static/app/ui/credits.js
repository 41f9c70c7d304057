// "with @alice": whose likeness a remix shows. A status names each cameo's owner by actor URI
// (`cameos: [{cameo, owner}]`), and a published remix mentions each owner: the mention gives the
// handle. A mention's `url` is the actor URI on this server; for another server's actor the
// account entity's `uri` tells which mention it is.

import { accountByUri, get } from "../api.js";
import { append, h } from "../dom.js";

// The line, filled in once the handles are known; null when the video stars only its author.
export function credits(status) {
  const owners = [...new Set((status.cameos ?? []).map((cameo) => cameo.owner))]
    .filter((uri) => uri !== status.account.uri);
  if (!owners.length) return null;
  const line = h("p", { class: "credits" });
  Promise.all(owners.map((uri) => ownerAcct(status, uri))).then((accts) => {
    const found = accts.filter(Boolean);
    if (!found.length) line.remove();
    else append(line, ["with ", found.map((acct, i) => [i ? ", " : null, h("a", { href: `/app/@${acct}`, text: `@${acct}` })])]);
  });
  return line;
}

async function ownerAcct(status, uri) {
  const mentions = status.mentions ?? [];
  const byUrl = mentions.find((mention) => mention.url === uri);
  if (byUrl) return byUrl.acct;
  for (const mention of mentions) {
    if ((await accountById(mention.id))?.uri === uri) return mention.acct;
  }
  return (await accountByUri(uri))?.acct ?? null;
}

const byId = new Map();
function accountById(id) {
  if (!byId.has(id)) byId.set(id, get(`/api/v1/accounts/${encodeURIComponent(id)}`).catch(() => null));
  return byId.get(id);
}
