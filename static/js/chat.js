// Chat page: policy preview, send, streaming answers, Stop, Retry, Copy, feedback.
//
// Model text is untrusted. While it streams it is rendered as Markdown by markdown.js
// (markdown-it, then DOMPurify with the server's allowlist, links not yet live); when the
// run ends the server's rendering (`html`, markdown-it-py through nh3) is sanitized again
// and replaces it. Both come from prompting/markdown_policy.json, so they agree.

import { followRun, postJson, sendJson } from "./runstream.js";
import { StreamView, createRenderer, enhanceCodeBlocks, pagePolicy, wireCodeCopy } from "./markdown.js";
import { createPreview } from "./preview.js";
import {
  announce,
  copyText,
  prependCurrentLink,
  tooLongMessage,
  wireTemplatePicker,
} from "./composer.js";
import { insertAtCursor } from "./template_vars.js";

const composer = document.getElementById("composer");
const textarea = document.getElementById("message");
const modelSelect = document.getElementById("model");
const sendButton = document.getElementById("send-button");
const stopButton = document.getElementById("stop-button");
const checkButton = document.getElementById("check-button");
const errorBox = document.getElementById("composer-error");
const statusBox = document.getElementById("composer-status");
const transcript = document.getElementById("transcript");
const renderer = createRenderer(pagePolicy());
const turnTemplate = document.getElementById("turn-template");
const maxChars = Number(composer.dataset.maxChars);
const feedbackUrlPattern = composer.dataset.feedbackUrl; // ".../messages/0/feedback"

let conversationId = composer.dataset.conversationId || "";
let activeRun = null; // {payload, follower, turn}
let templateId = null; // the template used for the message being written, if any

const preview = createPreview({
  panel: document.getElementById("preview"),
  previewUrl: composer.dataset.previewUrl,
  conversationId: () => conversationId,
});

function showError(message) {
  errorBox.textContent = message || "";
}

function setBusy(busy) {
  sendButton.disabled = busy;
  // Send and Stop share one place, so the button under the finger is always there.
  sendButton.hidden = busy;
  stopButton.hidden = !busy;
  statusBox.textContent = busy ? "Answering… (Escape stops)" : "";
}

// ---- auto-scroll: follow the answer until the reader scrolls up ----------------------

// The page scrolls; the composer is sticky at the bottom of the window. "The bottom" is
// where the end of the transcript meets the top of the composer (on a phone the
// conversation list comes after the conversation, so it is not the end of the page).
const scrolling = document.scrollingElement || document.documentElement;
let stickToBottom = true;
let autoScrolling = false;
function bottomTarget() {
  const end = transcript.getBoundingClientRect().bottom + window.scrollY + 16;
  const visible = window.innerHeight - composer.getBoundingClientRect().height;
  return Math.max(0, Math.round(end - visible));
}
function atBottom() {
  return window.scrollY >= bottomTarget() - 48;
}
window.addEventListener("scroll", () => {
  if (autoScrolling) {
    autoScrolling = false;
    return;
  }
  stickToBottom = atBottom();
}, { passive: true });
window.addEventListener("wheel", (event) => {
  if (event.deltaY < 0) stickToBottom = false;
}, { passive: true });
window.addEventListener("touchmove", () => {
  stickToBottom = atBottom();
}, { passive: true });
function scrollToEnd() {
  const target = bottomTarget();
  if (Math.abs(window.scrollY - target) < 2) return;
  autoScrolling = true;
  scrolling.scrollTop = target;
}
function followAnswer() {
  if (stickToBottom) scrollToEnd();
}

// ---- one turn's answer --------------------------------------------------------------

function parts(turn) {
  const box = turn.querySelector(".message-assistant");
  return {
    box,
    answer: box.querySelector(".answer"),
    status: box.querySelector(".run-status"),
    error: box.querySelector(".run-error"),
    source: box.querySelector(".answer-source"),
    retry: box.querySelector(".retry-button"),
    copy: box.querySelector(".copy-button"),
    feedback: box.querySelector(".feedback"),
  };
}

function setRunUrls(turn, payload) {
  const { box } = parts(turn);
  turn.dataset.runId = payload.id;
  box.dataset.eventsUrl = payload.events_url;
  box.dataset.statusUrl = payload.status_url;
  box.dataset.cancelUrl = payload.cancel_url;
  box.dataset.retryUrl = payload.retry_url;
}

function runFromDataset(turn) {
  const { box } = parts(turn);
  return {
    id: turn.dataset.runId,
    events_url: box.dataset.eventsUrl,
    status_url: box.dataset.statusUrl,
    cancel_url: box.dataset.cancelUrl,
    retry_url: box.dataset.retryUrl,
  };
}

function showFinal(turn, data, failed, view) {
  const p = parts(turn);
  p.answer.removeAttribute("aria-busy");
  p.status.textContent = "";
  p.box.classList.remove("typing");
  if (data.html) {
    view.finish(data.html); // the server's rendering, sanitized again with the same rules
  } else if (failed && !data.text) {
    p.answer.replaceChildren();
  } else if (view.text) {
    view.finish(); // no server rendering (status fallback): the browser's own
  }
  p.source.value = data.text || "";
  p.copy.hidden = !data.text;
  if (data.message_id) {
    p.box.dataset.messageId = data.message_id;
    p.feedback.hidden = false;
  }
  // Stopping is the reader's choice, not an error: a muted note, not red.
  const stopped = failed && (data.code === "cancelled" || data.status === "cancelled");
  p.error.classList.toggle("run-stopped", stopped);
  p.error.hidden = !failed;
  p.error.textContent = failed ? data.message || data.error || "The answer could not be completed." : "";
  p.retry.hidden = !(failed && data.retryable);
}

function follow(turn, payload) {
  const p = parts(turn);
  let view = null; // created at the first delta: until then the typing indicator shows
  p.answer.setAttribute("aria-busy", "true");
  p.box.classList.add("typing");
  p.status.textContent = "Waiting for the answer…";
  p.error.hidden = true;
  p.retry.hidden = true;
  setBusy(true);
  const finish = () => {
    activeRun = null;
    setBusy(false);
  };
  const follower = followRun(payload, {
    onDelta(text) {
      if (!view) {
        view = new StreamView(p.answer, renderer);
        p.box.classList.remove("typing");
        p.status.textContent = "";
      }
      view.append(text);
      followAnswer();
    },
    onStatus(data) {
      p.status.textContent = data.message || "The model is busy; retrying…";
    },
    onConnection(state) {
      if (state.reconnecting) p.status.textContent = "Connection lost; reconnecting…";
    },
    onDone(data) {
      showFinal(turn, data, false, view || new StreamView(p.answer, renderer));
      finish();
      followAnswer();
      announce("Answer complete.");
    },
    onError(data) {
      showFinal(turn, data, true, view || new StreamView(p.answer, renderer));
      finish();
      announce(data.message || "The answer could not be completed.");
    },
  });
  activeRun = { payload, follower, turn };
}

// ---- the sidebar and the heading for a conversation created by the first message -----

function adoptConversation(conversation) {
  if (conversationId) return;
  conversationId = String(conversation.id);
  composer.dataset.conversationId = conversationId;
  history.replaceState(null, "", conversation.url);
  document.getElementById("chat-heading").textContent = conversation.title;
  // Never the title shown on the page (the sender's own words): the stored, sanitized one.
  document.title = `${conversation.tab_title || "New conversation"} · Chat · Company Assistant`;
  // Rename and Delete exist from now on (their forms were rendered with id 0).
  for (const form of [document.getElementById("rename-form"), document.getElementById("delete-form")]) {
    const path = form.getAttribute("action").replace(/\/0\/(rename|delete)$/, `/${conversationId}/$1`);
    form.setAttribute("action", path);
  }
  document.getElementById("rename-title").value = conversation.title;
  document.getElementById("conversation-actions").hidden = false;
  const list = document.getElementById("conversation-list");
  const empty = document.getElementById("no-conversations");
  if (empty) empty.remove();
  prependCurrentLink(list, conversation);
}

// ---- sending ------------------------------------------------------------------------

async function send() {
  if (activeRun) return;
  const text = textarea.value;
  if (!text.trim()) {
    showError("Type a message first.");
    textarea.focus();
    return;
  }
  if (text.length > maxChars) {
    showError(tooLongMessage(text.length, maxChars));
    textarea.focus();
    return;
  }
  showError("");
  sendButton.disabled = true;
  const seen = preview.showing(text);
  statusBox.textContent = "Checking for personal data…";
  const state = await preview.ensure(text);
  statusBox.textContent = "";
  const problem = preview.problem();
  if (problem) {
    showError(preview.alertText());
    // A refused attempt is recorded (the server checks again): the reviewer's "Blocked" counts it.
    if (state && state.result && state.result.decision === "block") preview.refused(text);
    sendButton.disabled = false;
    document.getElementById("preview").querySelector("input, summary")?.focus();
    return;
  }
  if (!seen && preview.replaces()) {
    // Sent faster than the preview appeared: show what will be replaced first.
    statusBox.textContent = "Personal data found: check “Before sending”, then press Send again.";
    sendButton.disabled = false;
    return;
  }
  const body = {
    text,
    model_id: modelSelect.value,
    overrides: state && state.result ? preview.overrides() : [],
  };
  if (conversationId) body.conversation_id = Number(conversationId);
  if (templateId) body.template_id = templateId;
  let reply;
  try {
    reply = await sendJson(composer.action, body);
  } catch (_) {
    reply = { ok: false, data: { error: "The message could not be sent: no connection. Try again." } };
  }
  if (!reply.ok) {
    showError(reply.data.error || "The message could not be sent.");
    sendButton.disabled = false;
    return;
  }
  const turn = turnTemplate.content.firstElementChild.cloneNode(true);
  turn.querySelector(".message-text").textContent = text;
  setRunUrls(turn, reply.data.run);
  document.getElementById("transcript-empty")?.remove();
  transcript.append(turn);
  wireTurn(turn);
  adoptConversation(reply.data.conversation);
  templateId = null;
  textarea.value = "";
  autoGrow();
  preview.reset();
  follow(turn, reply.data.run);
  stickToBottom = true;
  scrollToEnd();
}

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});

textarea.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    send();
  }
});

textarea.addEventListener("input", () => {
  // Text over the limit cannot be sent; laying out megabytes of wrapped text would
  // make the page crawl, so it is shown unwrapped until it is shortened.
  textarea.classList.toggle("too-long", textarea.value.length > maxChars);
  autoGrow();
  showError("");
  if (textarea.value.length > maxChars) {
    preview.reset();
    showError(tooLongMessage(textarea.value.length, maxChars));
    return;
  }
  preview.schedule(textarea.value);
});

checkButton.addEventListener("click", async () => {
  const text = textarea.value;
  if (!text.trim()) return showError("Type a message first.");
  if (text.length > maxChars) return showError(tooLongMessage(text.length, maxChars));
  await preview.ensure(text);
  showError(preview.alertText());
});

async function stopAnswer() {
  if (!activeRun || stopButton.disabled) return;
  stopButton.disabled = true;
  statusBox.textContent = "Stopping…";
  let reply;
  try {
    reply = await postJson(activeRun.payload.cancel_url);
  } catch (_) {
    reply = { ok: false, data: { error: "The answer could not be stopped: no connection. Try again." } };
  }
  stopButton.disabled = false;
  if (!reply.ok) showError(reply.data.error || "The answer could not be stopped.");
}
stopButton.addEventListener("click", stopAnswer);

// Escape stops a streaming answer (unless it closes something else first: an open
// Rename/Delete/Comment panel closes instead). Alt+M goes back to the message box.
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !event.defaultPrevented) {
    if (sidebar.classList.contains("open")) {
      event.preventDefault();
      setDrawer(false);
      return;
    }
    const open = document.querySelector("details[open].inline-action, details[open].feedback-comment");
    if (open) {
      open.open = false;
      open.querySelector("summary")?.focus();
      event.preventDefault();
      return;
    }
    if (activeRun) {
      event.preventDefault();
      stopAnswer();
    }
  } else if (event.altKey && (event.key === "m" || event.key === "M" || event.code === "KeyM")) {
    event.preventDefault();
    textarea.focus();
  }
});

// The message box grows with its text up to a third of the window, then scrolls.
function autoGrow() {
  const most = Math.round(window.innerHeight / 3);
  if (textarea.value.length > 5000) {
    // Long text fills the largest size anyway; measuring it would lay it all out.
    textarea.style.height = `${most}px`;
    return;
  }
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(textarea.scrollHeight + 2, most)}px`;
}

// ---- per-answer actions -----------------------------------------------------------

function wireTurn(turn) {
  const p = parts(turn);
  p.copy.addEventListener("click", async () => {
    const ok = await copyText(p.source.value);
    announce(ok ? "Answer copied." : "Copy failed: select the text and copy it yourself.");
  });
  p.retry.addEventListener("click", async () => {
    if (activeRun) return;
    p.retry.disabled = true;
    const reply = await postJson(runFromDataset(turn).retry_url);
    p.retry.disabled = false;
    if (!reply.ok) {
      p.error.hidden = false;
      p.error.textContent = reply.data.error || "The answer could not be retried.";
      return;
    }
    setRunUrls(turn, reply.data);
    delete p.box.dataset.messageId;
    p.feedback.hidden = true;
    p.copy.hidden = true;
    p.answer.replaceChildren();
    follow(turn, reply.data);
  });
  const buttons = p.feedback.querySelectorAll(".feedback-button");
  const comment = p.feedback.querySelector(".feedback-text");
  const feedbackStatus = p.feedback.querySelector(".feedback-status");
  async function saveFeedback(rating) {
    const url = feedbackUrlPattern.replace("/0/", `/${p.box.dataset.messageId}/`);
    const reply = await postJson(url, { rating, comment: comment.value });
    if (!reply.ok) {
      feedbackStatus.textContent = reply.data.error || "Feedback could not be saved.";
      return;
    }
    buttons.forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.rating) === reply.data.rating)));
    feedbackStatus.textContent = "Thanks, feedback saved.";
  }
  buttons.forEach((button) => button.addEventListener("click", () => saveFeedback(button.dataset.rating)));
  p.feedback.querySelector(".feedback-save").addEventListener("click", () => {
    const pressed = p.feedback.querySelector('.feedback-button[aria-pressed="true"]');
    if (!pressed) {
      feedbackStatus.textContent = "Choose Helpful or Not helpful first.";
      return;
    }
    saveFeedback(pressed.dataset.rating);
  });
}

for (const turn of transcript.querySelectorAll(".turn")) {
  wireTurn(turn);
  enhanceCodeBlocks(parts(turn).answer); // history, rendered on the server
  if (parts(turn).box.dataset.follow) follow(turn, runFromDataset(turn));
}
wireCodeCopy(transcript, copyText, announce);

function useText(body, id) {
  templateId = id;
  insertAtCursor(textarea, body); // at the cursor, not appended below the draft
  autoGrow();
  preview.schedule(textarea.value);
}
wireTemplatePicker(useText);

// Suggested starts on an empty conversation: fill the message box (not sent).
for (const button of document.querySelectorAll("#transcript-empty .suggestion")) {
  button.addEventListener("click", () => {
    useText(button.dataset.text, button.dataset.templateId ? Number(button.dataset.templateId) : null);
  });
}

// Open on the newest message, with the message box ready.
if (transcript.children.length) scrollToEnd();

// Below ~800 px the conversation list is a drawer, opened by a button in the header.
const drawerButton = document.getElementById("conversations-toggle");
const sidebar = document.getElementById("chat-sidebar");
function setDrawer(open) {
  sidebar.classList.toggle("open", open);
  drawerButton.setAttribute("aria-expanded", String(open));
  if (open) document.getElementById("conversation-search").focus();
  else drawerButton.focus();
}
drawerButton.addEventListener("click", () => setDrawer(!sidebar.classList.contains("open")));
document.getElementById("conversations-close").addEventListener("click", () => setDrawer(false));
