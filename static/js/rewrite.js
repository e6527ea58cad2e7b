// Rewrite page: preview, send, the result streaming in beside the original, a
// word-level diff toggle, Copy, Rewrite again, Stop and Retry. A preset is one click (each
// is a submit button); personal data found at that moment asks for one confirmation. The result is shown as plain text
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
const presetButtons = [...form.querySelectorAll(".preset-button")];
const confirmButton = document.getElementById("confirm-button");
const againButton = document.getElementById("again-result");
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
const STOPPED_NOTE = "Stopped. What arrived is kept; Retry starts it again.";

// The original the shown result was made from (not whatever the textarea holds now).
let original = textarea.defaultValue;
let templateId = null; // the template used for the rewrite being prepared, if any
let answer = resultText.textContent;
let active = null; // the run payload being followed
let lastPreset = form.dataset.preset || ""; // the preset of the last rewrite (Ctrl+Enter repeats it)
let pending = null; // a send waiting for the one confirmation: { key, preset }

// The server composes the message the policy judges from these fields
// (prompting/rewrite/services.py rewrite_message, the function that composes what is
// sent), so the preview's offsets, and the marks made on them, match the sent message.
const preview = createPreview({
  panel: document.getElementById("preview"),
  previewUrl: form.dataset.previewUrl,
  fieldsFor: (key) => JSON.parse(key),
});

// What the policy will judge depends only on the text and, for an own instruction, the
// instruction (rewrite/presets.py compose_message): any preset key stands for "no instruction".
function previewPreset() {
  if (instruction.value.trim()) return "custom";
  return lastPreset && lastPreset !== "custom" ? lastPreset : presetButtons[0].value;
}

// What the preview is asked about, as one string (the preview caches by it).
// Every preset judges the same message (the text alone), so they share one key: a preview
// made before a preset was clicked counts as seen for any preset.
function previewKey(preset = previewPreset()) {
  const custom = preset === "custom";
  return JSON.stringify({
    text: textarea.value,
    preset: custom ? "custom" : presetButtons[0].value,
    instruction: custom ? instruction.value : "",
  });
}

function showError(message) {
  errorBox.textContent = message || "";
}

function validate(preset) {
  if (!textarea.value.trim()) return "Paste the text to rewrite first.";
  // The text alone; the server counts the instruction too and says so in a sentence.
  if (textarea.value.length > maxChars) return tooLongMessage(textarea.value.length, maxChars);
  if (!preset) return "Choose a preset or write an instruction.";
  if (preset === "custom" && !instruction.value.trim()) return "Write an instruction, or choose a preset.";
  return "";
}

function markPreset(preset) {
  presetButtons.forEach((button) => button.setAttribute("aria-pressed", String(button.value === preset)));
}

function setPending(next) {
  pending = next;
  confirmButton.hidden = !next;
}

function setBusy(busy) {
  sendButton.disabled = busy;
  presetButtons.forEach((button) => {
    button.disabled = busy;
  });
  stopButton.hidden = !busy;
  statusBox.textContent = busy ? "Rewriting…" : "";
  diffToggle.disabled = busy || !answer;
  copyButton.disabled = busy || !answer;
  againButton.disabled = busy || !answer;
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
    // Stopping is the user's own choice: a quiet note, not an error in red.
    const stopped = failed && data.code === "cancelled";
    resultStatus.textContent = stopped
      ? STOPPED_NOTE
      : failed
        ? ""
        : "Done. Show changes compares it with the original.";
    resultError.hidden = !failed || stopped;
    resultError.textContent = failed && !stopped ? data.message || "The rewrite could not be completed." : "";
    retryButton.hidden = !(failed && data.retryable);
    setBusy(false);
    announce(stopped ? STOPPED_NOTE : failed ? resultError.textContent : "Rewrite complete.");
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

function sendingState(disabled) {
  sendButton.disabled = disabled;
  presetButtons.forEach((button) => {
    button.disabled = disabled;
  });
}

async function send(preset) {
  if (active) return;
  const problem = validate(preset);
  if (problem) {
    showError(problem);
    return;
  }
  showError("");
  setPending(null);
  sendingState(true);
  const key = previewKey(preset);
  const seen = preview.showing(key);
  statusBox.textContent = "Checking for personal data…";
  const state = await preview.ensure(key);
  statusBox.textContent = "";
  const blocked = preview.problem();
  if (blocked) {
    showError(preview.alertText());
    if (state && state.result && state.result.decision === "block") preview.refused(key);
    sendingState(false);
    return;
  }
  if (!seen && preview.replaces()) {
    // Chosen before the preview appeared: one confirmation after seeing it, not a second send.
    statusBox.textContent = "Personal data found: see “Before sending”.";
    sendingState(false);
    setPending({ key, preset });
    confirmButton.focus();
    return;
  }
  await post(preset);
}

async function post(preset) {
  sendingState(true);
  const state = preview.showing(previewKey(preset)) ? preview : null;
  let reply;
  try {
    reply = await sendJson(form.action, {
      text: textarea.value,
      preset,
      instruction: preset === "custom" ? instruction.value : "",
      model_id: modelSelect.value,
      overrides: state ? preview.overrides() : [],
      ...(templateId ? { template_id: templateId } : {}),
    });
  } catch (_) {
    reply = { ok: false, data: { error: "The text could not be sent: no connection. Try again." } };
  }
  if (!reply.ok) {
    showError(reply.data.error || "The text could not be sent.");
    sendingState(false);
    return;
  }
  original = textarea.value;
  templateId = null;
  lastPreset = preset;
  markPreset(preset);
  remember(reply.data.conversation);
  follow(reply.data.run);
}

confirmButton.addEventListener("click", () => {
  if (!pending || active) return;
  const { key, preset } = pending;
  setPending(null);
  statusBox.textContent = "";
  // The text changed since the preview: check again (that is a new decision to confirm).
  if (previewKey(preset) !== key) send(preset);
  else post(preset);
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const submitter = event.submitter;
  const preset = submitter && submitter.name === "preset" ? submitter.value : lastPreset;
  send(preset);
});

textarea.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    send(instruction.value.trim() ? "custom" : lastPreset);
  }
});

function changed() {
  showError("");
  setPending(null);
  if (textarea.value.length > maxChars) {
    preview.reset();
    showError(tooLongMessage(textarea.value.length, maxChars));
    return;
  }
  if (textarea.value.trim()) preview.schedule(previewKey());
  else preview.reset();
}
textarea.addEventListener("input", changed);
instruction.addEventListener("input", changed);
instruction.addEventListener("keydown", (event) => {
  // Enter in the instruction is "Rewrite with it" (the form's default button would be a preset).
  if (event.key === "Enter") {
    event.preventDefault();
    send("custom");
  }
});

checkButton.addEventListener("click", async () => {
  const problem = validate(previewPreset());
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

againButton.addEventListener("click", () => {
  if (active || !answer) return;
  // The result becomes the text to rewrite; the next click on a preset rewrites it.
  textarea.value = answer;
  original = answer;
  changed();
  presetButtons[0].focus();
  announce("The result is now the text to rewrite. Choose how to rewrite it.");
});

wireTemplatePicker((body, id) => {
  templateId = id;
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
