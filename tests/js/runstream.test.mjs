// The one stream client (static/js/runstream.js), against a scripted EventSource.
import assert from "node:assert/strict";
import { test } from "node:test";

import { followRun } from "../../static/js/runstream.js";

class FakeSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static last = null;
  constructor(url) {
    this.url = url;
    this.readyState = FakeSource.CONNECTING;
    this.listeners = {};
    this.closed = false;
    FakeSource.last = this;
  }
  addEventListener(name, fn) {
    (this.listeners[name] ||= []).push(fn);
  }
  close() {
    this.closed = true;
    this.readyState = FakeSource.CLOSED;
  }
  emit(name, data) {
    for (const fn of this.listeners[name] || []) fn(data === undefined ? {} : { data: JSON.stringify(data) });
  }
  drop() {
    this.readyState = FakeSource.CONNECTING; // EventSource is retrying
    for (const fn of this.listeners.error || []) fn({});
  }
}

const RUN = { events_url: "/runs/1/events", status_url: "/runs/1" };

function recorder() {
  const seen = [];
  const handlers = {};
  for (const name of ["onDelta", "onStatus", "onProgress", "onDone", "onError", "onConnection"]) {
    handlers[name] = (data) => seen.push([name, data]);
  }
  return { seen, handlers };
}

test("deltas, then done, and the stream is closed", () => {
  const { seen, handlers } = recorder();
  followRun(RUN, handlers, { EventSource: FakeSource });
  const source = FakeSource.last;
  assert.equal(source.url, "/runs/1/events");
  source.emit("delta", { text: "Hel" });
  source.emit("delta", { text: "lo" });
  source.emit("done", { html: "<p>Hello</p>", text: "Hello" });
  source.emit("delta", { text: "late" }); // after the end: ignored
  assert.deepEqual(seen.map((s) => s[0]), ["onDelta", "onDelta", "onDone"]);
  assert.equal(seen[1][1], "lo");
  assert.ok(source.closed);
});

test("the server's error event ends the run with its message", () => {
  const { seen, handlers } = recorder();
  followRun(RUN, handlers, { EventSource: FakeSource });
  FakeSource.last.emit("error", { message: "Blocked", code: "blocked" });
  assert.deepEqual(seen, [["onError", { message: "Blocked", code: "blocked" }]]);
  assert.ok(FakeSource.last.closed);
});

test("progress events reset the connection error count (a summary sends no deltas)", async () => {
  const { seen, handlers } = recorder();
  let polled = 0;
  const fetch = async () => {
    polled += 1;
    return { ok: true, json: async () => ({ final: false }) };
  };
  const follower = followRun(RUN, handlers, { EventSource: FakeSource, fetch, pollMs: 5 });
  const source = FakeSource.last;
  for (let round = 0; round < 10; round += 1) {
    source.drop();
    source.drop();
    source.emit("progress", { done: round, total: 10 });
  }
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(polled, 0, "never fell back to polling");
  assert.equal(source.closed, false);
  assert.equal(seen.filter((s) => s[0] === "onProgress").length, 10);
  follower.close();
  assert.ok(source.closed);
});

test("five connection errors in a row fall back to polling until the run is final", async () => {
  const { seen, handlers } = recorder();
  const answers = [{ final: false }, { final: true, status: "failed", error: "It broke", error_code: "model_error" }];
  const fetch = async (url) => {
    assert.equal(url, "/runs/1");
    return { ok: true, json: async () => answers.shift() };
  };
  followRun(RUN, handlers, { EventSource: FakeSource, fetch, pollMs: 1 });
  const source = FakeSource.last;
  for (let i = 0; i < 5; i += 1) source.drop();
  assert.ok(source.closed);
  await new Promise((r) => setTimeout(r, 30));
  const last = seen.at(-1);
  assert.equal(last[0], "onError");
  assert.equal(last[1].message, "It broke");
  assert.equal(last[1].code, "model_error");
  assert.equal(seen.filter((s) => s[0] === "onConnection").length, 5);
});

test("polling survives a network error and ends with done", async () => {
  const { seen, handlers } = recorder();
  let calls = 0;
  const fetch = async () => {
    calls += 1;
    if (calls === 1) throw new TypeError("offline");
    return { ok: true, json: async () => ({ final: true, status: "done", text: "ok" }) };
  };
  followRun(RUN, handlers, { EventSource: FakeSource, fetch, pollMs: 1 });
  FakeSource.last.readyState = FakeSource.CLOSED;
  for (const fn of FakeSource.last.listeners.error) fn({});
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(seen.at(-1)[0], "onDone");
  assert.equal(seen.at(-1)[1].text, "ok");
});

test("close() stops everything: no handler runs afterwards", async () => {
  const { seen, handlers } = recorder();
  const follower = followRun(RUN, handlers, { EventSource: FakeSource });
  const source = FakeSource.last;
  follower.close();
  source.emit("delta", { text: "x" });
  source.emit("done", {});
  assert.deepEqual(seen, []);
  assert.ok(follower.finished);
});
