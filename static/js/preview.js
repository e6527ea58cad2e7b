// The policy preview in a composer: what will be replaced or blocked, before sending.
//
//   const preview = createPreview({ panel, previewUrl, conversationId: () => id });
//   preview.schedule(text);             // debounced, while typing
//   const state = await preview.ensure(text);  // now, before sending
//   preview.problem()                   // a sentence if it must not be sent as it is
//   preview.overrides()                 // false-positive marks for the send request
//
// Every piece of user text is inserted with textContent: the preview never
// interprets what was typed as HTML.

import { postJson } from "./runstream.js";

const DEBOUNCE_MS = 700;

// Plain words for the entity types, from the server (prompting/policy/labels.py, put on
// the page as a json_script block); unknown types show their code.
const LABELS = JSON.parse(document.getElementById("entity-type-labels")?.textContent || "{}");

export function kindOf(type) {
  return LABELS[type] ? LABELS[type].name : type;
}

function phraseOf(type) {
  return LABELS[type] ? LABELS[type].phrase : type;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// `fieldsFor(key)`: the POST fields for a key given to schedule/ensure (default: the key
// is the text itself). Rewrite passes its fields, so the server composes the message.
export function createPreview({ panel, previewUrl, conversationId, fieldsFor = (text) => ({ text }) }) {
  let timer = null;
  let current = null; // {text, result} | {text, error}
  let pending = null; // {text, promise}
  const marks = new Map(); // "start:end:type" -> {entity_type, start, end, reason}

  function key(segment) {
    return `${segment.start}:${segment.end}:${segment.entity_type}`;
  }

  async function fetchPreview(text) {
    const body = fieldsFor(text);
    const id = conversationId ? conversationId() : "";
    if (id) body.conversation_id = id;
    let reply;
    try {
      reply = await postJson(previewUrl, body);
    } catch (_) {
      return { error: "The check could not be reached; your message is still checked when you send it." };
    }
    if (!reply.ok) {
      return { error: reply.data.error || "The check failed; your message is still checked when you send it." };
    }
    return { result: reply.data };
  }

  async function ensure(text) {
    clearTimeout(timer);
    if (current && current.text === text) return current;
    if (pending && pending.text === text) return pending.promise;
    const promise = fetchPreview(text).then((outcome) => {
      if (pending && pending.text === text) pending = null;
      const state = { text, ...outcome };
      if (!current || current.text !== text) marks.clear();
      current = state;
      render();
      return state;
    });
    pending = { text, promise };
    return promise;
  }

  // The page refused to send `text` because the preview blocks it: tell the server,
  // which checks again and records the refused attempt (prompt.blocked) if it blocks.
  // Fire and forget: the page has already said why nothing was sent.
  function refused(text) {
    const body = { ...fieldsFor(text), attempt: "1" };
    const id = conversationId ? conversationId() : "";
    if (id) body.conversation_id = id;
    return postJson(previewUrl, body).catch(() => null);
  }

  function schedule(text) {
    clearTimeout(timer);
    if (current && current.text !== text) {
      // The offsets no longer match the text: old marks and highlights are stale.
      current = null;
      marks.clear();
      panel.hidden = true;
      panel.replaceChildren();
    }
    if (!text.trim()) return;
    timer = setTimeout(() => ensure(text), DEBOUNCE_MS);
  }

  function reset() {
    clearTimeout(timer);
    current = null;
    pending = null;
    marks.clear();
    panel.hidden = true;
    panel.replaceChildren();
  }

  function findings() {
    if (!current || !current.result) return [];
    return current.result.segments.filter((s) => s.entity_type && s.action !== "allow");
  }

  function effectiveAction(segment) {
    return marks.has(key(segment)) ? "allow" : segment.action;
  }

  function problem() {
    if (!current || !current.result) return "";
    const missingReason = [...marks.values()].some((m) => !m.reason.trim());
    if (missingReason) return "Say why each value you marked is not personal data (a few words).";
    const blocking = findings().filter((s) => effectiveAction(s) === "block");
    if (current.result.decision === "block" && !findings().some((s) => s.action === "block")) {
      // Blocked without a finding: the check itself failed (the policy fails closed).
      return (
        current.result.message ||
        "Your message could not be checked for personal data, so it cannot be sent now. Try again in a moment."
      );
    }
    if (!blocking.length) return "";
    const kinds = [...new Set(blocking.map((s) => phraseOf(s.entity_type)))].join(", ");
    return (
      `Not sent: your message contains ${kinds}, which may not be sent to the model. ` +
      "Remove it or replace it with a description (for example “the customer's card”), then send again."
    );
  }

  function overrides() {
    return [...marks.values()].map((m) => ({ ...m, reason: m.reason.trim() }));
  }

  function summaryText(result) {
    // Replaced (pseudonymize: restored in the answer) and redacted (removed for good).
    const counts = { pseudonymize: {}, redact: {} };
    for (const s of findings()) {
      const action = effectiveAction(s);
      if (!(action in counts)) continue;
      const label = `${kindOf(s.entity_type)} (${s.entity_type})`;
      counts[action][label] = (counts[action][label] || 0) + 1;
    }
    const list = (byLabel) => Object.entries(byLabel).map(([label, n]) => `${n} × ${label}`).join(", ");
    if (problem()) return null;
    const replaced = list(counts.pseudonymize);
    const redacted = list(counts.redact);
    if (!replaced && !redacted) {
      return result.decision === "allow" && !marks.size
        ? "No personal data found: the message is sent as you wrote it."
        : "Nothing will be replaced: the message is sent as you wrote it.";
    }
    const sentences = [];
    if (replaced) sentences.push(`Will be replaced by placeholders before the model sees it: ${replaced}. You will see the real values in the answer.`);
    if (redacted) sentences.push(`Will be redacted: ${redacted}. The model and the answer only show a placeholder; the value is not kept.`);
    return sentences.join(" ");
  }

  function sanitizedText() {
    // The server's sanitized text ignores marks; rebuild it so the panel shows the truth.
    let out = "";
    for (const s of current.result.segments) {
      const action = s.entity_type ? effectiveAction(s) : "";
      if ((action === "pseudonymize" || action === "redact") && s.placeholder) out += s.placeholder;
      else out += s.text;
    }
    return out;
  }

  function render() {
    panel.replaceChildren();
    if (!current) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    panel.append(el("h2", "preview-title", "Before sending"));
    if (current.error) {
      panel.append(el("p", "muted", current.error));
      return;
    }
    const result = current.result;
    const blocked = problem();
    const summary = el("p", blocked ? "preview-blocked error" : "preview-summary", blocked || summaryText(result));
    summary.id = "preview-summary";
    panel.append(summary);

    if (findings().length) {
      const label = el("p", "small muted", "Your text, with what was found highlighted:");
      const text = el("div", "preview-segments");
      for (const s of current.result.segments) {
        if (!s.entity_type) {
          text.append(document.createTextNode(s.text));
          continue;
        }
        const action = effectiveAction(s);
        const mark = el("mark", `finding finding-${action}`, s.text);
        const how = {
          block: "blocks sending",
          pseudonymize: `sent as ${s.placeholder}`,
          redact: `redacted: sent as ${s.placeholder}, not kept`,
        }[action] || "sent as written";
        mark.append(el("span", "visually-hidden", ` (${kindOf(s.entity_type)}: ${how})`));
        mark.title = `${kindOf(s.entity_type)}: ${how}`;
        text.append(mark);
      }
      panel.append(label, text);
      if (!blocked) {
        const details = el("details", "preview-sent");
        details.append(el("summary", "", "What the model will receive"), el("pre", "preview-sanitized", sanitizedText()));
        panel.append(details);
      }
      renderMarks();
    }
  }

  function renderMarks() {
    const overridable = findings().filter((s) => s.overridable);
    if (!overridable.length) return;
    const box = el("details", "preview-marks");
    if (marks.size) box.open = true;
    box.append(el("summary", "", "A value is not personal data?"));
    box.append(el("p", "small muted", "Mark it and say why; it is then sent as written and your reason is recorded in the audit log."));
    overridable.forEach((s, index) => {
      const row = el("div", "mark-row");
      const id = `mark-${index}`;
      const box2 = el("input");
      box2.type = "checkbox";
      box2.id = id;
      box2.checked = marks.has(key(s));
      const label = el("label", "inline", `“${s.text}” is not ${phraseOf(s.entity_type)}`);
      label.htmlFor = id;
      const reasonId = `mark-reason-${index}`;
      const reasonLabel = el("label", "visually-hidden", `Why “${s.text}” is not ${phraseOf(s.entity_type)}`);
      reasonLabel.htmlFor = reasonId;
      const reason = el("input");
      reason.type = "text";
      reason.id = reasonId;
      reason.maxLength = 500;
      reason.placeholder = "Why? e.g. it is a product name";
      reason.hidden = !box2.checked;
      reason.value = marks.has(key(s)) ? marks.get(key(s)).reason : "";
      box2.addEventListener("change", () => {
        if (box2.checked) {
          marks.set(key(s), { entity_type: s.entity_type, start: s.start, end: s.end, reason: reason.value });
        } else {
          marks.delete(key(s));
        }
        render();
        const again = document.getElementById(box2.checked ? reasonId : id);
        if (again) again.focus();
      });
      reason.addEventListener("input", () => {
        const mark = marks.get(key(s));
        if (mark) mark.reason = reason.value;
      });
      row.append(box2, label, reasonLabel, reason);
      box.append(row);
    });
    panel.append(box);
  }

  // The sentence for the composer's alert: short when the panel already explains a block.
  function alertText() {
    const text = problem();
    const kinds = [...new Set(findings().filter((s) => effectiveAction(s) === "block").map((s) => phraseOf(s.entity_type)))];
    if (!text.startsWith("Not sent") || !kinds.length) return text;
    return `Not sent: it contains ${kinds.join(", ")}. See “Before sending” for what to change.`;
  }

  // Whether the panel already shows the result for exactly this text (so the person
  // has had the chance to see what will be replaced before it is sent).
  function showing(text) {
    return Boolean(current && current.text === text && current.result && !panel.hidden);
  }

  function replaces() {
    return findings().some((s) => effectiveAction(s) === "pseudonymize");
  }

  return { schedule, ensure, reset, problem, alertText, overrides, showing, replaces, refused };
}

// Summarize's preview of a whole document (POST .../documents/<id>/preview): what will
// be replaced, redacted or blocked, each with where it is (page or section) and a short
// excerpt. Returns the sentence that stops the summary, or "" when it may run.
export function renderDocumentPreview(panel, result) {
  panel.replaceChildren();
  panel.hidden = false;
  panel.append(el("h3", "preview-title", "Before summarizing"));
  if (result.error) {
    panel.append(el("p", "muted", result.error));
    return "";
  }
  const findings = result.findings || [];
  const of = (action) => findings.filter((f) => f.action === action);
  const tally = (list) => {
    const byLabel = {};
    for (const f of list) {
      const label = `${kindOf(f.entity_type)} (${f.entity_type})`;
      byLabel[label] = (byLabel[label] || 0) + 1;
    }
    return Object.entries(byLabel).map(([label, n]) => `${n} × ${label}`).join(", ");
  };
  let problem = "";
  const blocking = of("block");
  if (result.decision === "block" && !blocking.length) {
    problem = result.message || "The document could not be checked for personal data, so it cannot be summarized now. Try again in a moment.";
  } else if (blocking.length) {
    const kinds = [...new Set(blocking.map((f) => phraseOf(f.entity_type)))].join(", ");
    const places = [...new Set(blocking.map((f) => f.where))].join(", ");
    problem = `Not summarized: the document contains ${kinds} (${places}), which may not be sent to the model. Remove it from the document, then check it again.`;
  }
  const sentences = [];
  if (problem) {
    sentences.push(problem);
  } else {
    const replaced = tally(of("pseudonymize"));
    const redacted = tally(of("redact"));
    if (replaced) sentences.push(`Will be replaced by placeholders before the model sees it: ${replaced}. You will see the real values in the summary.`);
    if (redacted) sentences.push(`Will be redacted: ${redacted}. The model and the summary only show a placeholder; the value is not kept.`);
    if (!sentences.length) sentences.push("No personal data found: the document is sent as it is.");
  }
  const summary = el("p", problem ? "preview-blocked error" : "preview-summary", sentences.join(" "));
  summary.id = "sum-preview-summary";
  panel.append(summary);
  if (findings.length) {
    const list = el("ul", "preview-findings");
    for (const f of findings) {
      const item = el("li", `preview-finding finding-row-${f.action}`);
      const how = {
        block: "blocks the summary",
        pseudonymize: `sent as ${f.placeholder}`,
        redact: `redacted: sent as ${f.placeholder}, not kept`,
      }[f.action] || "sent as written";
      item.append(el("strong", "preview-where", `${f.where}: `), el("span", "", `${kindOf(f.entity_type)}, ${how} — `));
      const quote = el("q", "preview-excerpt");
      quote.append(document.createTextNode(f.excerpt.before), el("mark", `finding finding-${f.action}`, f.excerpt.value), document.createTextNode(f.excerpt.after));
      item.append(quote);
      list.append(item);
    }
    panel.append(list);
    if (result.total > result.listed) {
      panel.append(el("p", "small muted", `…and ${result.total - result.listed} more of the same kinds.`));
    }
  }
  return problem;
}
