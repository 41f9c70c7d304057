// Taking everything with me: my archive (asked for once a week, built by the server while I
// wait, downloaded with my token) and what I bring from another server (Mastodon's CSV exports
// of follows, blocks and mutes, or a Likeness archive with my cameos and consent ledger).

import { blobUrl, get, post, request } from "../api.js";
import { announce, errorLine, field, h, onSubmit, sleep } from "../dom.js";

const IMPORTS = [
  ["following", "Follows (following_accounts.csv)"],
  ["blocking", "Blocks (blocked_accounts.csv)"],
  ["muting", "Mutes (muted_accounts.csv)"],
  ["archive", "A Likeness archive (.zip): cameos and consent ledger"],
];
const POLL_MS = 2000;

function archiveRow(archive) {
  const state = {
    queued: "Waiting for the server",
    building: `Being built: ${archive.progress}%`,
    ready: `Ready, until ${new Date(archive.expires_at).toLocaleString()}`,
    failed: `Failed: ${archive.error ?? "unknown error"}`,
    expired: "Expired",
  }[archive.state];
  const row = h("li", { class: "archive", "data-state": archive.state },
    h("span", { text: `${new Date(archive.created_at).toLocaleString()}: ${state}` }));
  if (archive.state === "building" || archive.state === "queued") {
    row.append(h("progress", { max: 100, value: archive.progress, "aria-label": "Progress" }));
  }
  if (archive.download_url) {
    const download = h("button", { type: "button", class: "button", text: "Download" });
    download.addEventListener("click", async () => {
      const url = await blobUrl(archive.download_url, "application/zip");
      const link = h("a", { download: `likeness-archive-${archive.id}.zip` });
      link.href = url; // a blob: URL, which h() would refuse as not http(s)
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    });
    row.append(download);
  }
  return row;
}

function report(result) {
  if (result.type === "archive") {
    return `Cameos: ${result.cameos.imported} imported, ${result.cameos.already} already here. `
      + `Authorizations: ${result.authorizations.imported} imported, ${result.authorizations.already} already here.`;
  }
  return `${result.imported} imported, ${result.already} already done, ${result.failed.length} could not be.`;
}

export default async function show(ctx) {
  const list = h("ol", { class: "archives" });
  const ask = h("button", { type: "button", class: "button primary", text: "Ask for my archive" });
  const askProblem = errorLine();
  const refresh = async () => {
    const archives = await get("/api/v1/archives");
    list.replaceChildren(...archives.map(archiveRow));
    return archives.some((a) => a.state === "queued" || a.state === "building");
  };
  ask.addEventListener("click", async () => {
    askProblem.textContent = "";
    try {
      await post("/api/v1/archives");
      announce("Your archive is being built.");
      watch();
    } catch (error) {
      askProblem.textContent = error.message;
    }
  });
  const watch = async () => {
    while (!ctx.signal.aborted && await refresh()) await sleep(POLL_MS, ctx.signal);
  };

  const kind = h("select", { name: "type" }, ...IMPORTS.map(([value, text]) => h("option", { value, text })));
  const file = h("input", { type: "file", name: "data", required: true, accept: ".csv,.zip,text/csv,application/zip" });
  const problem = errorLine();
  const result = h("div", { class: "import-result", role: "status" });
  const submit = h("button", { type: "submit", class: "button primary", text: "Import" });
  const form = h("form", { class: "stack" }, field("What", kind), field("File", file), problem, submit, result);
  onSubmit(form, submit, problem, async () => {
    const body = new FormData();
    body.append("data", file.files[0]);
    const done = await (await request("POST", `/api/v1/imports/${kind.value}`, body)).json();
    result.replaceChildren(h("p", { text: report(done) }),
      ...(done.failed ?? []).map((row) => h("p", { class: "hint", text: `Line ${row.line}, ${row.address}: ${row.error}` })));
  });

  ctx.root.append(h("section", { class: "screen stack" },
    h("h1", { text: "Your archive" }),
    h("p", { text: "Everything of yours in one file: your posts and their videos, your cameos with their reference images, and your consent ledger. Once every 7 days." }),
    ask, askProblem, list,
    h("h2", { text: "Bring things from another server" }), form));
  await watch();
}
