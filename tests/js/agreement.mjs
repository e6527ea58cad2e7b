// Used by test_javascript.py: reads [{text, server}] as JSON on stdin, renders each text
// with the browser's bridge and prints the cases where the normalized DOMs differ.
import { makeWindow, policy } from "./dom.mjs";

const window = makeWindow();
globalThis.window = window;
const { createRenderer } = await import("../../static/js/markdown.js");
const renderer = createRenderer(policy(), window);

function normalize(node) {
  if (node.nodeType === 3) return JSON.stringify(node.data);
  if (node.nodeType !== 1) return "";
  const attrs = [...node.attributes]
    .map((a) => `${a.name}=${JSON.stringify(["checked", "disabled"].includes(a.name) ? a.name : a.value)}`)
    .sort()
    .join(" ");
  const children = [...node.childNodes].map(normalize).join("");
  return `<${node.nodeName.toLowerCase()} ${attrs}>${children}</>`;
}

function tree(html) {
  const box = window.document.createElement("div");
  box.innerHTML = html;
  return normalize(box);
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const differences = [];
for (const { text, server } of JSON.parse(input)) {
  const browser = renderer.html(text);
  if (tree(browser) !== tree(server)) differences.push({ text, server, browser });
}
process.stdout.write(JSON.stringify(differences));
