// Summarize page: send the document, wait for its text, show size / parts / cost,
// then run the summary and follow its progress and answer on the run's event stream.
import { followRun, postJson } from "./runstream.js";
import { renderDocumentPreview } from "./preview.js";

const POLL_MS = 700;
const $ = (id) => document.getElementById(id);

const form = $("summarize-form");
const statusLine = $("sum-status");
const errorLine = $("sum-error");
let currentDocument = null;
let follower = null;
let currentRun = null;

function say(text) { statusLine.textContent = text; }
function fail(text) { errorLine.textContent = text; say(""); }
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

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorLine.textContent = "";
  previewFor = null;
  show("sum-estimate", false);
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
  $(id).addEventListener("change", async () => {
    if (currentDocument && currentDocument.status === "ready") {
      const { ok, data } = await getJson(statusUrl());
      if (ok) showEstimate(data);
    }
  });
}

$("sum-run").addEventListener("click", async () => {
  if (!currentDocument) return;
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
  const { ok, data } = await postJson(currentDocument.start_url, options());
  $("sum-run").disabled = false;
  if (!ok) { show("sum-progress", false); fail(data.error || "The summary could not be started."); return; }
  currentRun = data;
  show("sum-estimate", false);
  startProgress(data);
});

function startProgress(run) {
  const bar = $("sum-progressbar");
  const parts = run.progress.total;
  bar.max = Math.max(parts, 1);
  bar.value = 0;
  $("sum-progress-text").textContent = parts ? `0 of ${parts} parts summarized` : "Summarizing…";
  if (!parts) bar.removeAttribute("value"); // one call: no parts to count
  show("sum-progress", true);
  const output = $("sum-output");
  output.textContent = "";
  output.classList.add("streaming");
  $("sum-sources").textContent = "";
  say("Checking the document against the data policy…");
  follower = followRun(run, {
    onProgress(p) {
      bar.max = p.total;
      bar.value = p.done;
      $("sum-progress-text").textContent = p.combining
        ? `All ${p.total} parts summarized; combining them…`
        : `${p.done} of ${p.total} parts summarized`;
      say("Summarizing…");
    },
    onDelta(text) {
      show("sum-result", true);
      output.textContent += text;
    },
    onStatus(s) { if (s.message) say(s.message); },
    async onDone(final) {
      output.classList.remove("streaming");
      output.innerHTML = final.html; // sanitized on the server (prompting/rendering.py)
      if (parts) { bar.value = bar.max; }
      else { bar.max = 1; bar.value = 1; }
      $("sum-progress-text").textContent = "Done.";
      show("sum-result", true);
      show("sum-stop", false);
      say("The summary is ready.");
      await showSources(run);
    },
    onError(err) {
      output.classList.remove("streaming");
      fail(err.message || err.error || "The summary could not be completed.");
      show("sum-stop", false);
    },
  });
  show("sum-stop", true);
}

async function showSources(run) {
  const { ok, data } = await getJson(run.result_url);
  if (!ok) return;
  const list = $("sum-sources");
  list.textContent = "";
  for (const source of data.sources) {
    const item = document.createElement("li");
    item.textContent = source.sections ? `${source.label}: ${source.sections}` : source.label;
    list.appendChild(item);
  }
}

$("sum-stop").addEventListener("click", async () => {
  if (!currentRun) return;
  const { ok, data } = await postJson(currentRun.cancel_url, {});
  if (!ok) fail(data.error || "The summary could not be stopped.");
  else say("Stopping…");
});

$("sum-copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("sum-output").innerText);
    say("Copied.");
  } catch (_) {
    say("Copying is not allowed here; select the text instead.");
  }
});
