// The word-level diff used by Rewrite's "Show changes" (static/js/diff.js).
// Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { diffWords, tokenize } from "../../static/js/diff.js";

// Applying the ops must give back both texts: equal+delete is the old, equal+insert the new.
function sides(ops) {
  const keep = (kinds) => ops.filter((o) => kinds.includes(o.op)).map((o) => o.text).join("");
  return [keep(["equal", "delete"]), keep(["equal", "insert"])];
}

test("tokens are words, whitespace runs and single punctuation marks", () => {
  assert.deepEqual(tokenize("Hi  Maria, it's late."), ["Hi", "  ", "Maria", ",", " ", "it's", " ", "late", "."]);
  assert.deepEqual(tokenize(""), []);
});

test("one changed word is one delete and one insert", () => {
  assert.deepEqual(diffWords("The meeting moved to Friday.", "The meeting moved to Monday."), [
    { op: "equal", text: "The meeting moved to " },
    { op: "delete", text: "Friday" },
    { op: "insert", text: "Monday" },
    { op: "equal", text: "." },
  ]);
});

test("identical texts are one equal run; empty sides are all insert or all delete", () => {
  assert.deepEqual(diffWords("same text", "same text"), [{ op: "equal", text: "same text" }]);
  assert.deepEqual(diffWords("", "new words"), [{ op: "insert", text: "new words" }]);
  assert.deepEqual(diffWords("old words", ""), [{ op: "delete", text: "old words" }]);
  assert.deepEqual(diffWords("", ""), []);
});

test("a plural is one word changed, not the sentence", () => {
  const ops = diffWords("Read the note.", "Read the notes.");
  assert.deepEqual(ops.filter((o) => o.op !== "equal"), [
    { op: "delete", text: "note" },
    { op: "insert", text: "notes" },
  ]);
});

test("unicode words and placeholders survive intact", () => {
  const before = "Grüße an <PERSON_1> — danke";
  const after = "Viele Grüße an <PERSON_1> — danke!";
  const ops = diffWords(before, after);
  assert.deepEqual(sides(ops), [before, after]);
  assert.ok(ops.some((o) => o.op === "equal" && o.text.includes("Grüße an <PERSON_1>")));
});

test("the ops always rebuild both texts (randomised)", () => {
  const words = ["a", "b", "c", "the", "refund", ",", ".", " ", "  ", "\n"];
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed;
  };
  const text = (n) => Array.from({ length: n }, () => words[next() % words.length]).join("");
  for (let i = 0; i < 200; i += 1) {
    const before = text(next() % 30);
    const after = text(next() % 30);
    assert.deepEqual(sides(diffWords(before, after)), [before, after], JSON.stringify({ before, after }));
  }
});

test("very different long texts give up (null) instead of freezing the page", () => {
  const a = Array.from({ length: 5000 }, (_, i) => `a${i}`).join(" ");
  const b = Array.from({ length: 5000 }, (_, i) => `b${i}`).join(" ");
  const started = Date.now();
  assert.equal(diffWords(a, b), null);
  assert.ok(Date.now() - started < 5000);
});
