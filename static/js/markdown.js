// The one bridge between model text and the page: Markdown through markdown-it, then
// DOMPurify, both configured from prompting/markdown_policy.json — the file the server
// renders with (markdown-it-py + nh3), so the two agree. The page hands the policy in a
// json_script block ("markdown-policy"); tests hand it directly.
//
//   const renderer = createRenderer(pagePolicy());
//   const view = new StreamView(element, renderer);   // while an answer streams
//   view.append(delta); ...; view.finish(serverHtml);
//   enhanceCodeBlocks(element);                       // highlight, label, Copy
//
// Streaming costs O(size of the block being written) per delta, not O(answer): text
// before the last finished block is rendered once and left alone.

import { createDOMPurify, hljs, markdownit, taskLists } from "../vendor/markdown-kit.min.js";

export function pagePolicy(doc = document) {
  const data = doc.getElementById("markdown-policy");
  return JSON.parse(data ? data.textContent : "null");
}

export function createRenderer(policy, win = globalThis.window) {
  if (!policy) throw new Error("createRenderer: no Markdown policy");
  const m = policy.markdown;
  const md = markdownit(m.preset, m.options).enable(m.enable).disable(m.disable);
  md.use(taskLists, { label: m.task_lists.label });

  const purify = createDOMPurify(win);
  const patterns = Object.fromEntries(
    Object.entries(policy.attribute_patterns).map(([name, source]) => [name, new RegExp(source)]),
  );
  const allowedAttributes = policy.attributes;
  const schemes = policy.url_schemes.map((s) => s.replace(/[^a-z0-9+.-]/gi, "")).join("|");
  // Allowed schemes, or a relative reference (as nh3 passes relative URLs through).
  const uriPattern = new RegExp(`^(?:(?:${schemes}):|[^a-z]|[a-z+.-]+(?:[^a-z+.\\-:]|$))`, "i");
  let liveLinks = true;

  purify.addHook("uponSanitizeAttribute", (node, data) => {
    const tag = node.nodeName.toLowerCase();
    const allowed = allowedAttributes[tag] || [];
    if (!allowed.includes(data.attrName)) {
      data.keepAttr = false;
      return;
    }
    const pattern = patterns[data.attrName];
    if (pattern && !pattern.test(data.attrValue)) data.keepAttr = false;
  });
  purify.addHook("afterSanitizeAttributes", (node) => {
    const tag = node.nodeName.toLowerCase();
    for (const [name, value] of Object.entries(policy.force_attributes[tag] || {})) {
      node.setAttribute(name, value);
    }
    if (tag === "a") {
      if (!liveLinks) node.removeAttribute("href"); // see StreamView
      if (node.hasAttribute("href")) node.setAttribute("rel", policy.link_rel);
    }
  });
  const config = {
    ALLOWED_TAGS: policy.tags,
    // Every attribute any tag may carry; the hook above narrows them per tag.
    ALLOWED_ATTR: [...new Set(Object.values(policy.attributes).flat())],
    ALLOWED_URI_REGEXP: uriPattern,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  };

  return {
    // Markdown -> sanitized DocumentFragment. `live: false` renders links without
    // href (used while streaming: the server's final rendering decides about links).
    fragment(text, { live = true } = {}) {
      liveLinks = live;
      try {
        return purify.sanitize(md.render(text), config);
      } finally {
        liveLinks = true;
      }
    },
    // Sanitize HTML from elsewhere (the server's rendering) with the same rules.
    sanitizeHtml(html) {
      return purify.sanitize(html, config);
    },
    // A string, for tests and the agreement check.
    html(text, options) {
      const box = win.document.createElement("div");
      box.append(this.fragment(text, options));
      return box.innerHTML;
    },
  };
}

// ---- streaming ------------------------------------------------------------------------

const FENCE = /^\s*(`{3,}|~{3,})/;
const LIST_ITEM = /^([-*+]|\d{1,9}[.)])(\s|$)/;

// Finds where finished blocks end, looking only at complete lines it has not seen.
// A boundary is the start of a line that follows a blank line, outside a code fence,
// and does not continue a list (an indented line, or another item of the same list).
export class BlockSplitter {
  constructor() {
    this.scanned = 0; // offset of the first line not yet looked at
    this.fence = null; // the open fence's marker, e.g. "```"
    this.blank = false;
    this.list = false; // the current block is a list
    this.boundary = 0;
  }

  feed(text) {
    for (;;) {
      const end = text.indexOf("\n", this.scanned);
      if (end < 0) return this.boundary;
      this.line(text.slice(this.scanned, end), this.scanned);
      this.scanned = end + 1;
    }
  }

  line(line, start) {
    if (this.fence) {
      const close = line.match(FENCE);
      if (close && close[1][0] === this.fence[0] && close[1].length >= this.fence.length && !line.trim().slice(close[1].length).length) {
        this.fence = null;
      }
      return;
    }
    if (!line.trim()) {
      this.blank = true;
      return;
    }
    const indented = /^\s/.test(line);
    const item = LIST_ITEM.test(line);
    if (this.blank && !indented && !(item && this.list)) this.boundary = start;
    if (!indented && (item || this.blank)) this.list = item;
    this.blank = false;
    const open = line.match(FENCE);
    if (open) this.fence = open[1];
  }
}

export class StreamView {
  constructor(element, renderer, { enhance = enhanceCodeBlocks } = {}) {
    this.element = element;
    this.renderer = renderer;
    this.enhance = enhance;
    this.text = "";
    this.done = 0; // text[0:done] is rendered for good
    this.splitter = new BlockSplitter();
    element.replaceChildren();
    // `display: contents`: the tail's blocks lay out as the answer's own children.
    this.tail = element.ownerDocument.createElement("div");
    this.tail.className = "md-tail";
    element.append(this.tail);
  }

  append(delta) {
    if (!delta) return;
    this.text += delta;
    const boundary = this.splitter.feed(this.text);
    if (boundary > this.done) {
      const finished = this.renderer.fragment(this.text.slice(this.done, boundary), { live: false });
      this.enhance(finished);
      this.element.insertBefore(finished, this.tail);
      this.done = boundary;
    }
    const tail = this.renderer.fragment(this.text.slice(this.done), { live: false });
    this.enhance(tail);
    this.tail.replaceChildren(tail);
  }

  // The final rendering: the server's sanitized HTML (authoritative, e.g. for links),
  // sanitized again here with the same rules; or the browser's own if there is none.
  finish(html) {
    const fragment =
      html !== undefined && html !== null && html !== ""
        ? this.renderer.sanitizeHtml(html)
        : this.renderer.fragment(this.text);
    this.enhance(fragment);
    this.element.replaceChildren(fragment);
  }
}

// ---- code blocks: highlighting, language label, Copy -------------------------------

export function codeLanguage(code) {
  const match = /(?:^|\s)language-([A-Za-z0-9_+#.-]+)/.exec(code.className || "");
  return match ? match[1] : "";
}

export function enhanceCodeBlocks(root) {
  for (const code of root.querySelectorAll("pre > code")) {
    const pre = code.parentNode;
    if (pre.parentNode && pre.parentNode.classList && pre.parentNode.classList.contains("code-block")) continue;
    const doc = pre.ownerDocument;
    const language = codeLanguage(code);
    if (language && hljs.getLanguage(language)) {
      // highlight.js escapes the code text it wraps in spans.
      code.innerHTML = hljs.highlight(code.textContent, { language, ignoreIllegals: true }).value;
      code.classList.add("hljs");
    }
    const block = doc.createElement("div");
    block.className = "code-block";
    const head = doc.createElement("div");
    head.className = "code-head";
    const label = doc.createElement("span");
    label.className = "code-language";
    label.textContent = language || "text";
    const copy = doc.createElement("button");
    copy.type = "button";
    copy.className = "code-copy secondary";
    copy.textContent = "Copy code";
    head.append(label, copy);
    pre.replaceWith(block);
    block.append(head, pre);
    // Scrollable code must be reachable by keyboard (axe: scrollable-region-focusable).
    pre.tabIndex = 0;
  }
  return root;
}

// One delegated listener per container: "Copy code" copies that block's text.
export function wireCodeCopy(container, copyText, announce) {
  container.addEventListener("click", async (event) => {
    const button = event.target.closest ? event.target.closest(".code-copy") : null;
    if (!button || !container.contains(button)) return;
    const code = button.closest(".code-block").querySelector("code");
    const ok = await copyText(code.textContent);
    announce(ok ? "Code copied." : "Copy failed: select the code and copy it yourself.");
  });
}
