// Test helpers: a DOM (jsdom from frontend/node_modules) and the shared Markdown policy.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(join(ROOT, "frontend", "package.json"));
const { JSDOM } = require("jsdom");

export function makeWindow(html = "<!doctype html><body></body>") {
  const { window } = new JSDOM(html);
  return window;
}

export function policy() {
  return JSON.parse(readFileSync(join(ROOT, "prompting", "markdown_policy.json"), "utf8"));
}
