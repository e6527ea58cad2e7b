// Template blanks ({{customer}}) and inserting at the cursor (static/js/template_vars.js).
// Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { fillTemplate, insertAtCursor, templateVariables } from "../../static/js/template_vars.js";

test("variables are found once each, in order, ignoring case and inner spaces", () => {
  assert.deepEqual(templateVariables("Dear {{customer}}, order {{ order id }}; thanks {{Customer}}"), [
    "customer",
    "order id",
  ]);
  assert.deepEqual(templateVariables("No blanks here"), []);
});

test("what is not a variable stays text", () => {
  for (const body of ["{{}}", "{{ }}", "{customer}", "{{two\nlines}}", "{{<b>}}", `{{${"x".repeat(41)}}}`]) {
    assert.deepEqual(templateVariables(body), [], body);
  }
  assert.deepEqual(templateVariables(`{{${"x".repeat(40)}}}`), ["x".repeat(40)]);
});

test("filling replaces every occurrence, case-insensitively", () => {
  assert.equal(
    fillTemplate("Dear {{customer}}, thanks {{ Customer }}!", { customer: "Ms Lee" }),
    "Dear Ms Lee, thanks Ms Lee!",
  );
});

test("values are inserted literally: $-patterns and braces are not read again", () => {
  assert.equal(fillTemplate("Pay {{amount}}", { amount: "$& $1 {{amount}}" }), "Pay $& $1 {{amount}}");
});

test("a blank without a value is kept, not lost", () => {
  assert.equal(fillTemplate("{{a}} and {{b}}", { a: "x" }), "x and {{b}}");
  assert.equal(fillTemplate("{{a}}", { a: "" }), "{{a}}");
  assert.equal(fillTemplate("{{a}}", null), "{{a}}");
});

function field(value, start, end = start, tagName = "TEXTAREA") {
  const events = [];
  return {
    tagName,
    value,
    selectionStart: start,
    selectionEnd: end,
    events,
    focused: false,
    setSelectionRange(a, b) {
      this.selectionStart = a;
      this.selectionEnd = b;
    },
    focus() {
      this.focused = true;
    },
    dispatchEvent(event) {
      events.push(event.type);
    },
  };
}

test("insertion goes at the cursor, on its own line between words, caret after it", () => {
  const box = field("Hello\nBest regards", 5);
  insertAtCursor(box, "Thanks for waiting.");
  assert.equal(box.value, "Hello\nThanks for waiting.\nBest regards");
  assert.equal(box.selectionStart, "Hello\nThanks for waiting.".length);
  assert.deepEqual(box.events, ["input"]);
  assert.ok(box.focused);
});

test("a selection is replaced; at a line start no extra line breaks are added", () => {
  const box = field("Hello\nDRAFT\nBye", 6, 11);
  insertAtCursor(box, "Thanks");
  assert.equal(box.value, "Hello\nThanks\nBye");
});

test("an empty box gets just the text; a text input never gets line breaks", () => {
  const empty = field("", 0);
  insertAtCursor(empty, "Body");
  assert.equal(empty.value, "Body");
  const input = field("make it", 7, 7, "INPUT");
  insertAtCursor(input, "shorter");
  assert.equal(input.value, "make itshorter");
});
