// The Markdown/sanitizer bridge (static/js/markdown.js) under jsdom.
import assert from "node:assert/strict";
import { test } from "node:test";

import { makeWindow, policy } from "./dom.mjs";

const window = makeWindow();
globalThis.window = window;
const { BlockSplitter, StreamView, createRenderer, enhanceCodeBlocks } = await import(
  "../../static/js/markdown.js"
);
const renderer = createRenderer(policy(), window);

const ANSWER = [
  "# Plan",
  "",
  "Some **bold** and *em* text with `code` and a [link](https://example.com).",
  "",
  "- [ ] to do",
  "- [x] done",
  "",
  "1. one",
  "2. two",
  "",
  "   continued inside item two",
  "",
  "> a quote",
  "> on two lines",
  "",
  "| Name | Count |",
  "|:-----|------:|",
  "| a    | 1     |",
  "",
  "```python",
  "def f(x):",
  "",
  "    return x * 2  # blank line above stays inside the fence",
  "```",
  "",
  "~~struck~~ and the end.",
  "",
].join("\n");

test("tables, quotes, task lists and fenced code render", () => {
  const html = renderer.html(ANSWER);
  assert.match(html, /<table>/);
  assert.match(html, /<blockquote>/);
  assert.match(html, /<ul class="contains-task-list">/);
  assert.match(html, /<input class="task-list-item-checkbox"[^>]*checked/);
  assert.match(html, /<code class="language-python">def f/);
  assert.match(html, /<a href="https:\/\/example.com" rel="noopener noreferrer nofollow">link<\/a>/);
  assert.match(html, /<s>struck<\/s>/);
});

test("hostile Markdown stays inert", () => {
  const cases = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "![pic](https://tracker.example/p.png)",
    "<a href='https://evil' onclick='x()'>y</a>",
    "```\"><img src=x onerror=alert(1)>\ncode\n```",
  ];
  for (const text of cases) {
    const box = window.document.createElement("div");
    box.append(renderer.fragment(text));
    assert.equal(box.querySelector("script, img, [onerror], [onclick], [style]"), null, text);
    for (const a of box.querySelectorAll("a[href]")) {
      assert.match(a.getAttribute("href"), /^(https?:|mailto:)/, text);
    }
    for (const code of box.querySelectorAll("code[class]")) {
      assert.match(code.className, /^language-[A-Za-z0-9_+#.-]+$/, text);
    }
  }
});

test("a forged checkbox is forced to a disabled checkbox", () => {
  const html = renderer.sanitizeHtml('<input type="text" class="task-list-item-checkbox" value="x" onfocus="x()">');
  const box = window.document.createElement("div");
  box.append(html);
  const input = box.querySelector("input");
  assert.equal(input.getAttribute("type"), "checkbox");
  assert.ok(input.hasAttribute("disabled"));
  assert.equal(input.getAttribute("value"), null);
  assert.equal(input.getAttribute("onfocus"), null);
});

test("links are not live while streaming", () => {
  const html = renderer.html("[a](https://example.com)", { live: false });
  assert.equal(html.includes("href"), false);
  assert.ok(renderer.html("[a](https://example.com)").includes("href"));
});

test("the splitter never cuts a fence, a list or an indented continuation", () => {
  const splitter = new BlockSplitter();
  const text = "para\n\n```\na\n\nb\n```\n\n- x\n\n- y\n\n  more\n\nlast\n";
  const cuts = [];
  for (let i = 1; i <= text.length; i += 1) {
    const b = splitter.feed(text.slice(0, i));
    if (!cuts.includes(b)) cuts.push(b);
  }
  const starts = cuts.map((c) => text.slice(c, c + 4));
  assert.deepEqual(starts, ["para", "```\n", "- x\n", "last"]);
});

function streamed(text, sizes) {
  const box = window.document.createElement("div");
  const view = new StreamView(box, renderer);
  let i = 0;
  let k = 0;
  while (i < text.length) {
    const n = sizes[k++ % sizes.length];
    view.append(text.slice(i, i + n));
    i += n;
  }
  return { box, view };
}

function withoutTail(box) {
  const copy = box.cloneNode(true);
  for (const tail of copy.querySelectorAll(".md-tail")) tail.replaceWith(...tail.childNodes);
  return copy.innerHTML;
}

test("streamed in any chunk sizes, the view shows what a full render shows", () => {
  const whole = window.document.createElement("div");
  whole.append(enhanceCodeBlocks(renderer.fragment(ANSWER, { live: false })));
  for (const sizes of [[1], [3, 7], [16], [200]]) {
    const { box } = streamed(ANSWER, sizes);
    assert.equal(withoutTail(box), whole.innerHTML, `chunks ${sizes}`);
  }
});

test("finish() shows the server's rendering, sanitized again, enhanced", () => {
  const { box, view } = streamed(ANSWER, [5]);
  view.finish('<pre><code class="language-js">let a = 1;\n</code></pre><img src=x onerror=alert(1)>');
  assert.equal(box.querySelector(".md-tail"), null);
  assert.equal(box.querySelector("img"), null);
  assert.equal(box.querySelector(".code-language").textContent, "js");
  assert.ok(box.querySelector("code.hljs span"), "highlighted");
});

test("code blocks get a language label, a Copy button and highlighting once", () => {
  const box = window.document.createElement("div");
  box.append(renderer.fragment("```python\nimport os\n```\n\n```\nplain\n```\n\n```nosuchlang\nx\n```\n"));
  enhanceCodeBlocks(box);
  enhanceCodeBlocks(box); // idempotent
  const blocks = box.querySelectorAll(".code-block");
  assert.equal(blocks.length, 3);
  assert.deepEqual([...box.querySelectorAll(".code-language")].map((l) => l.textContent), ["python", "text", "nosuchlang"]);
  assert.equal(box.querySelectorAll(".code-copy").length, 3);
  assert.ok(blocks[0].querySelector("code .hljs-keyword"));
  assert.equal(blocks[2].querySelector("code").textContent, "x\n");
});

// A seeded generator of answers made of the blocks models write, streamed in random
// chunk sizes: the streamed view always ends equal to a full render.
function prng(seed) {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const PIECES = [
  "Plain paragraph with **bold** and `code`.\n",
  "# Heading\n",
  "Setext heading\n---\n",
  "- item one\n- item two\n",
  "- loose item\n\n- second loose item\n",
  "1. first\n2. second\n\n   indented continuation\n",
  "- [ ] task\n- [x] done\n",
  "> quote line\n> more\n",
  "| a | b |\n|---|---|\n| 1 | 2 |\n",
  "```js\nconst a = 1;\n\nconst b = 2;\n```\n",
  "~~~\nplain fence\n~~~\n",
  "    indented code\n",
  "***\n",
  "Line with a [link](https://example.com) and ~~strike~~.\n",
];

test("streamed random answers in random chunks end equal to a full render", () => {
  const random = prng(16);
  for (let round = 0; round < 60; round += 1) {
    const blocks = [];
    const count = 2 + Math.floor(random() * 8);
    for (let i = 0; i < count; i += 1) blocks.push(PIECES[Math.floor(random() * PIECES.length)]);
    const text = blocks.join("\n");
    const sizes = [1 + Math.floor(random() * 12), 1 + Math.floor(random() * 40)];
    const whole = window.document.createElement("div");
    whole.append(enhanceCodeBlocks(renderer.fragment(text, { live: false })));
    const { box } = streamed(text, sizes);
    assert.equal(withoutTail(box), whole.innerHTML, JSON.stringify({ text, sizes }));
  }
});
