// Rewrite page: preview, send, the result streaming in beside the original, a
// word-level diff toggle, Copy, Stop and Retry. The result is shown as plain text
// (textContent) throughout: a rewrite is text to paste elsewhere, not a rendering.

import { followRun, postJson, sendJson } from "./runstream.js";
import { createPreview } from "./preview.js";
import { diffWords, renderDiff } from "./diff.js";
import {
  announce,
  copyText,
  prependCurrentLink,
  tooLongMessage,
  wireTemplatePicker,
} from "./composer.js";

const form = document.getElementById("rewrite-form");
const textarea = document.getElementById("rewrite-text");
const instruction = document.getElementById("instruction");
const customRadio = document.getElementById("preset-custom");
const modelSelect = document.getElementById("model");
const sendButton = document.getElementById("send-button");
const stopButton = document.getElementById("stop-button");
const checkButton = document.getElementById("check-button");
const errorBox = document.getElementById("composer-error");
const statusBox = document.getElementById("composer-status");
const result = document.querySelector(".rewrite-result");
const resultText = document.getElementById("result-text");
const resultDiff = document.getElementById("result-diff");
const resultStatus = document.getElementById("result-status");
const resultError = document.getElementById("result-error");
const diffToggle = document.getElementById("diff-toggle");
const copyButton = document.getElementById("copy-result");
const retryButton = document.getElementById("retry-result");
const maxChars = Number(form.dataset.maxChars);

// The original the shown result was made from (not whatever the textarea holds now).
let original = textarea.defaultValue;
let answer = resultText.textContent;
let active = null; // the run payload being followed

// The server composes the message the policy judges from these fields
// (prompting/rewrite/services.py rewrite_message, the function that composes what is
// sent), so the preview's offsets, and the marks made on them, match the sent message.
const preview = createPreview({
  panel: document.getElementById("preview"),
  previewUrl: form.dataset.previewUrl,
  fieldsFor: (key) => JSON.parse(key),
});

function preset() {
  const checked = form.querySelector('input[name="preset"]:checked');
  return checked ? checked.value : "";
}

// What the preview is asked about, as one string (the preview caches by it).
function previewKey() {
  const custom = preset() === "custom";
  return JSON.stringify({ text: textarea.value, preset: preset(), instruction: custom ? instruction.value : "" });
}

function showError(message) {
  errorBox.textContent = message || "";
}

function validate() {
  if (!textarea.value.trim()) return "Paste the text to rewrite first.";
  if (!preset()) return "Choose a preset or write an instruction.";
  if (preset() === "custom" && !instruction.value.trim()) return "Write an instruction, or choose a preset.";
  // The text alone; the server counts the instruction too and says so in a sentence.
  if (textarea.value.length > maxChars) return tooLongMessage(textarea.value.length, maxChars);
  return "";
}

function setBusy(busy) {
  sendButton.disabled = busy;
  stopButton.hidden = !busy;
  statusBox.textContent = busy ? "Rewriting…" : "";
  diffToggle.disabled = busy || !answer;
  copyButton.disabled = busy || !answer;
}

function showDiff(on) {
  diffToggle.setAttribute("aria-pressed", String(on));
  diffToggle.textContent = on ? "Hide changes" : "Show changes";
  if (on) renderDiff(resultDiff, diffWords(original, answer));
  resultDiff.hidden = !on;
  resultText.hidden = on;
}

function follow(payload) {
  active = payload;
  result.dataset.cancelUrl = payload.cancel_url;
  result.dataset.retryUrl = payload.retry_url;
  answer = "";
  showDiff(false);
  resultText.replaceChildren();
  const streamed = document.createTextNode("");
  resultText.append(streamed);
  resultText.setAttribute("aria-busy", "true");
  resultStatus.textContent = "Waiting for the answer…";
  resultError.hidden = true;
  retryButton.hidden = true;
  setBusy(true);
  const end = (data, failed) => {
    active = null;
    resultText.removeAttribute("aria-busy");
    answer = data.text || "";
    resultText.textContent = answer;
    resultStatus.textContent = failed ? "" : "Done. Show changes compares it with the original.";
    resultError.hidden = !failed;
    resultError.textContent = failed ? data.message || "The rewrite could not be completed." : "";
    retryButton.hidden = !(failed && data.retryable);
    setBusy(false);
    announce(failed ? resultError.textContent : "Rewrite complete.");
  };
  followRun(payload, {
    onDelta(text) {
      resultStatus.textContent = "";
      streamed.appendData(text);
    },
    onStatus(data) {
      resultStatus.textContent = data.message || "The model is busy; retrying…";
    },
    onDone: (data) => end(data, false),
    onError: (data) => end(data, true),
  });
}

function remember(conversation) {
  history.replaceState(null, "", conversation.url);
  document.getElementById("no-history")?.remove();
  const list = document.getElementById("rewrite-history");
  prependCurrentLink(list, conversation);
}

async function send() {
  if (active) return;
  const problem = validate();
  if (problem) {
    showError(problem);
    return;
  }
  showError("");
  sendButton.disabled = true;
  const message = previewKey();
  const seen = preview.showing(message);
  statusBox.textContent = "Checking for personal data…";
  const state = await preview.ensure(message);
  statusBox.textContent = "";
  const blocked = preview.problem();
  if (blocked) {
    showError(preview.alertText());
    sendButton.disabled = false;
    return;
  }
  if (!seen && preview.replaces()) {
    // Sent faster than the preview appeared: show what will be replaced first.
    statusBox.textContent = "Personal data found: check “Before sending”, then press Rewrite again.";
    sendButton.disabled = false;
    return;
  }
  let reply;
  try {
    reply = await sendJson(form.action, {
      text: textarea.value,
      preset: preset(),
      instruction: preset() === "custom" ? instruction.value : "",
      model_id: modelSelect.value,
      overrides: state && state.result ? preview.overrides() : [],
    });
  } catch (_) {
    reply = { ok: false, data: { error: "The text could not be sent: no connection. Try again." } };
  }
  if (!reply.ok) {
    showError(reply.data.error || "The text could not be sent.");
    sendButton.disabled = false;
    return;
  }
  original = textarea.value;
  remember(reply.data.conversation);
  follow(reply.data.run);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});

textarea.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    send();
  }
});

function changed() {
  showError("");
  if (textarea.value.length > maxChars) {
    preview.reset();
    showError(tooLongMessage(textarea.value.length, maxChars));
    return;
  }
  if (textarea.value.trim() && preset()) preview.schedule(previewKey());
  else preview.reset();
}
textarea.addEventListener("input", changed);
instruction.addEventListener("input", () => {
  if (instruction.value && !customRadio.checked) customRadio.checked = true;
  changed();
});
form.querySelectorAll('input[name="preset"]').forEach((radio) => radio.addEventListener("change", changed));

checkButton.addEventListener("click", async () => {
  const problem = validate();
  if (problem) return showError(problem);
  await preview.ensure(previewKey());
  showError(preview.alertText());
});

stopButton.addEventListener("click", async () => {
  if (!active) return;
  const reply = await postJson(active.cancel_url);
  if (!reply.ok) showError(reply.data.error || "The rewrite could not be stopped.");
});

retryButton.addEventListener("click", async () => {
  if (active || !result.dataset.retryUrl) return;
  const reply = await postJson(result.dataset.retryUrl);
  if (!reply.ok) {
    resultError.hidden = false;
    resultError.textContent = reply.data.error || "The rewrite could not be retried.";
    return;
  }
  follow(reply.data);
});

diffToggle.addEventListener("click", () => showDiff(diffToggle.getAttribute("aria-pressed") !== "true"));

copyButton.addEventListener("click", async () => {
  const ok = await copyText(answer);
  announce(ok ? "Rewritten text copied." : "Copy failed: select the text and copy it yourself.");
});

wireTemplatePicker((body) => {
  customRadio.checked = true;
  instruction.value = body.split(/\s+/).filter(Boolean).join(" ");
  instruction.focus();
  changed();
});

if (result.dataset.follow) {
  follow({
    events_url: result.dataset.eventsUrl,
    status_url: result.dataset.statusUrl,
    cancel_url: result.dataset.cancelUrl,
    retry_url: result.dataset.retryUrl,
  });
}
