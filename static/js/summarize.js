// Summarize page: send the document, wait for its text, show size / parts / cost,
// then run the summary and follow its progress and answer on the run's event stream.
// Each summary has its own page (/summarize/<id>/): opened while it runs (a reload,
// another tab), the page picks the stream up from the summary's JSON ("summary-run").
import { followRun, postJson } from "./runstream.js";
import { renderDocumentPreview } from "./preview.js";
import { announce, copyText, prependCurrentLink } from "./composer.js";
import { StreamView, createRenderer, enhanceCodeBlocks, pagePolicy, wireCodeCopy } from "./markdown.js";

const POLL_MS = 700;
const $ = (id) => document.getElementById(id);

const form = $("summarize-form");
const statusLine = $("sum-status");
const errorLine = $("sum-error");
let currentDocument = null;
let follower = null;
let currentRun = null;
// The summary's Markdown text, for Copy (the page's text has the code blocks' labels).
let summaryText = "";
const renderer = createRenderer(pagePolicy());

// A new document or summary ends whatever was being followed: one stream at a time.
function stopFollowing() {
  if (follower) follower.close();
  follower = null;
}

function say(text) { statusLine.textContent = text; }
function fail(text) { errorLine.textContent = text; say(""); setBusy(false); }
function setBusy(busy) {
  const output = $("sum-output");
  if (busy) output.setAttribute("aria-busy", "true");
  else output.removeAttribute("aria-busy");
}
function options() {
  return { model: $("sum-model").value, length: $("sum-length").value, style: $("sum-style").value };
}
function show(id, visible) { $(id).hidden = !visible; }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function getJson(url) {
  const reply = await fetch(url, { headers: { Accept: "application/json" } });
  let data = {};
  try { data = await reply.json(); } catch (_) { data = { error: "The server answered unexpectedly. Please try again." }; }
  return { ok: reply.ok, status: reply.status, data };
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  stopFollowing();
  errorLine.textContent = "";
  previewFor = null;
  show("sum-estimate", false);
  show("sum-progress", false);
  show("sum-result", false);
  const file = $("sum-file").files[0];
  const text = $("sum-text").value;
  const body = new FormData();
  if (file) {
    if (file.size > Number(form.dataset.maxUploadBytes)) {
      fail(`The file is larger than the ${Math.round(form.dataset.maxUploadBytes / 1048576)} MB limit. Choose a smaller file, or split the document.`);
      return;
    }
    body.append("file", file, file.name);
  } else if (text.trim()) {
    // As a file part: a long paste is not held to Django's in-memory form-field limit.
    body.append("paste", new Blob([text], { type: "text/plain" }), "pasted.txt");
  } else {
    fail("Choose a file or paste some text first.");
    return;
  }
  $("sum-check").disabled = true;
  say("Sending the document…");
  try {
    const { ok, data } = await postJson(form.dataset.uploadUrl, body);
    if (!ok) { fail(data.error || "The document could not be sent."); return; }
    currentDocument = data;
    await waitUntilReady();
  } catch (_) {
    fail("The document could not be sent. Check your connection and try again.");
  } finally {
    $("sum-check").disabled = false;
  }
});

async function waitUntilReady() {
  for (;;) {
    const { ok, data } = await getJson(statusUrl());
    if (!ok) { fail(data.error || "The document could not be read."); return; }
    currentDocument = data;
    if (data.status === "failed") { fail(data.error); return; }
    if (data.status === "ready") { showEstimate(data); return; }
    say(`${data.status_label}…`);
    await sleep(POLL_MS);
  }
}

function statusUrl() {
  const o = options();
  return `${currentDocument.status_url}?model=${encodeURIComponent(o.model)}&length=${encodeURIComponent(o.length)}&style=${encodeURIComponent(o.style)}`;
}

function showEstimate(data) {
  const e = data.estimate;
  if (!e) { fail(data.error || "The estimate is not available."); return; }
  $("sum-tokens").textContent = `about ${e.tokens.toLocaleString()} tokens`;
  $("sum-parts").textContent = e.parts === 1 ? "1 part" : `${e.parts} parts, summarized in parallel, then combined`;
  $("sum-cost").textContent = `up to $${Number(e.cost_usd).toFixed(4)} (${e.model})`;
  $("sum-notes").textContent = (data.notes || []).join(" ");
  say(data.filename ? `“${data.filename}” is ready.` : "The text is ready.");
  show("sum-estimate", true);
  checkPolicy(data);
  $("sum-run").focus();
}

// The policy preview, before anything runs. Summarize waits for it (a click while it
// runs waits too) and does not start while the document holds something that blocks
// it. A check that cannot answer does not stop it: the summary is checked again when
// it runs.
let previewFor = null;
let previewDone = Promise.resolve("");
function checkPolicy(data) {
  const key = `${data.id}:${$("sum-model").value}:${$("sum-length").value}`;
  if (previewFor === key) return;
  previewFor = key;
  previewDone = runCheck(data, key);
}

async function runCheck(data, key) {
  const panel = $("sum-preview");
  panel.hidden = false;
  panel.textContent = "Checking the document for personal data…";
  $("sum-run").disabled = false; // a click now waits for this check
  let result;
  try {
    const reply = await postJson(data.preview_url, options());
    result = reply.ok ? reply.data : { error: reply.data.error || "The check failed; the document is still checked when the summary runs." };
  } catch (_) {
    result = { error: "The check could not be reached; the document is still checked when the summary runs." };
  }
  if (previewFor !== key) return previewDone; // options changed meanwhile: the newer check decides
  const problem = renderDocumentPreview(panel, result);
  $("sum-run").disabled = Boolean(problem);
  if (problem) say("The document cannot be summarized as it is.");
  return problem;
}

for (const id of ["sum-length", "sum-model"]) {
  $(id)?.addEventListener("change", async () => {
    if (currentDocument && currentDocument.status === "ready") {
      try {
        const { ok, data } = await getJson(statusUrl());
        if (ok) showEstimate(data);
      } catch (_) {
        fail("The estimate could not be updated: no connection. Try again.");
      }
    }
  });
}

$("sum-run").addEventListener("click", async () => {
  if (!currentDocument) return;
  stopFollowing();
  errorLine.textContent = "";
  $("sum-run").disabled = true;
  // The progress card shows at once; the summary starts when the check has answered.
  $("sum-progressbar").removeAttribute("value");
  $("sum-progress-text").textContent = "Checking the document for personal data…";
  show("sum-stop", false);
  show("sum-progress", true);
  say("Waiting for the check of the document…");
  const problem = await previewDone;
  if (problem) { show("sum-progress", false); $("sum-run").disabled = true; fail(problem); return; }
  say("Starting the summary…");
  let reply;
  try {
    reply = await postJson(currentDocument.start_url, options());
  } catch (_) {
    reply = { ok: false, data: { error: "The summary could not be started: no connection. Try again." } };
  } finally {
    $("sum-run").disabled = false;
  }
  const { ok, data } = reply;
  if (!ok) { show("sum-progress", false); fail(data.error || "The summary could not be started."); return; }
  currentRun = data;
  show("sum-estimate", false);
  adoptSummary(data);
  startProgress(data);
});

// The summary now has its own URL and a place at the top of the history.
function adoptSummary(run) {
  history.replaceState(null, "", run.url);
  document.title = "Summary · Summarize · Company Assistant"; // never document text
  $("no-summaries")?.remove();
  prependCurrentLink($("summary-list"), { url: run.url, title: run.title });
}

function progressText(p) {
  if (p.combining) return `All ${p.total} parts summarized; combining them…`;
  return `${p.done} of ${p.total} parts summarized`;
}

function startProgress(run) {
  currentRun = run;
  const bar = $("sum-progressbar");
  const parts = run.progress.total;
  bar.max = Math.max(parts, 1);
  bar.value = run.progress.done || 0;
  $("sum-progress-text").textContent = parts ? progressText(run.progress) : "Summarizing…";
  if (!parts) bar.removeAttribute("value"); // one call: no parts to count
  show("sum-progress", true);
  const output = $("sum-output");
  const view = new StreamView(output, renderer);
  let writing = false;
  setBusy(true);
  $("sum-sources").textContent = "";
  if (run.status === "streaming") say("Writing the summary…");
  else if (run.progress.done) say("Summarizing the parts…");
  else say("Checking the document against the data policy…");
  follower = followRun(run, {
    onProgress(p) {
      bar.max = p.total;
      bar.value = p.done;
      $("sum-progress-text").textContent = progressText(p);
      if (!writing) say(p.combining ? "Combining the parts…" : "Summarizing the parts…");
    },
    onDelta(text) {
      if (!writing) {
        writing = true;
        say("Writing the summary…");
        show("sum-result", true);
      }
      view.append(text);
    },
    onStatus(s) { if (s.message) say(s.message); },
    onConnection(state) { if (state.reconnecting) say("Connection lost; reconnecting…"); },
    async onDone(final) {
      summaryText = final.text || "";
      follower = null;
      view.finish(final.html); // the server's rendering, sanitized again
      setBusy(false);
      if (parts) { bar.value = bar.max; }
      else { bar.max = 1; bar.value = 1; }
      $("sum-progress-text").textContent = "Done.";
      show("sum-result", true);
      show("sum-stop", false);
      say("The summary is ready.");
      await showSources(run);
    },
    onError(err) {
      follower = null;
      if (err.status === "cancelled") {
        // Stopping is the reader's choice: said in the status line, not as an error.
        setBusy(false);
        say(err.message || "The summary was stopped.");
        $("sum-progress-text").textContent = "Stopped.";
        show("sum-stop", false);
        return;
      }
      fail(err.message || err.error || "The summary could not be completed.");
      show("sum-stop", false);
    },
  });
  show("sum-stop", true);
}

async function showSources(run) {
  let reply;
  try {
    reply = await getJson(run.result_url);
  } catch (_) {
    return; // the summary is shown; only the list of sections is missing
  }
  const { ok, data } = reply;
  if (!ok) return;
  listSources(data.sources);
}

function listSources(sources) {
  const list = $("sum-sources");
  list.textContent = "";
  for (const source of sources) {
    const item = document.createElement("li");
    item.textContent = source.sections ? `${source.label}: ${source.sections}` : source.label;
    list.appendChild(item);
  }
}

$("sum-stop").addEventListener("click", async () => {
  if (!currentRun) return;
  $("sum-stop").disabled = true;
  try {
    const { ok, data } = await postJson(currentRun.cancel_url, {});
    if (!ok) fail(data.error || "The summary could not be stopped.");
    else say("Stopping…");
  } catch (_) {
    errorLine.textContent = "The summary could not be stopped: no connection. Try again.";
  } finally {
    $("sum-stop").disabled = false;
  }
});

$("sum-copy").addEventListener("click", async () => {
  const ok = await copyText(summaryText || $("sum-output").innerText);
  announce(ok ? "Summary copied." : "Copy failed: select the text and copy it yourself.");
});

wireCodeCopy($("sum-output"), copyText, announce);
enhanceCodeBlocks($("sum-output"));

// A summary's own page: show where it is, and follow it if it is still running.
const saved = $("summary-run");
if (saved) {
  const run = JSON.parse(saved.textContent);
  currentRun = run;
  summaryText = run.text || "";
  if (!run.final) {
    startProgress(run);
  } else if (run.status === "done") {
    listSources(run.sources);
    say("The summary is ready.");
  } else if (run.status === "cancelled") {
    say(run.error || "The summary was stopped.");
  } else {
    errorLine.textContent = run.error || "This summary did not complete.";
  }
}
