// Follow one run's Server-Sent Events. EventSource reconnects by itself and sends
// Last-Event-ID, so the server resumes exactly; if the stream cannot be reached at
// all (relay down), we fall back to polling the run's status until it is final.
//
//   import { followRun } from "/static/js/runstream.js";
//   const follower = followRun(run, { onDelta, onStatus, onProgress, onDone, onError });
//   follower.close();
//
// `run` is the JSON from the run endpoints: {events_url, status_url, ...}.

const POLL_MS = 1500;
const MAX_CONNECTION_ERRORS = 5;

// `env` is for tests: { EventSource, fetch, pollMs }.
export function followRun(run, handlers, env = {}) {
  const on = Object.assign(
    { onDelta() {}, onStatus() {}, onProgress() {}, onDone() {}, onError() {}, onConnection() {} },
    handlers,
  );
  const Source = env.EventSource || globalThis.EventSource;
  const get = env.fetch || ((...args) => globalThis.fetch(...args));
  const pollMs = env.pollMs ?? POLL_MS;
  let finished = false;
  let pollTimer = null;
  let connectionErrors = 0;
  const source = new Source(run.events_url);

  function stop() {
    finished = true;
    source.close();
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function finish(kind, data) {
    if (finished) return;
    stop();
    (kind === "done" ? on.onDone : on.onError)(data);
  }

  // Any event from the server shows the stream works: the count of consecutive
  // connection errors starts again (a summary sends only progress events for minutes).
  function listen(name, handle) {
    source.addEventListener(name, (e) => {
      if (finished) return;
      connectionErrors = 0;
      let data = {};
      try {
        data = JSON.parse(e.data);
      } catch (_) {
        return; // not ours; the next event or the poll will tell
      }
      handle(data);
    });
  }
  source.addEventListener("open", () => {
    connectionErrors = 0;
  });
  listen("delta", (data) => on.onDelta(data.text || ""));
  listen("status", (data) => on.onStatus(data));
  listen("progress", (data) => on.onProgress(data));
  listen("done", (data) => finish("done", data));
  source.addEventListener("error", (e) => {
    if (finished) return;
    if (e.data !== undefined) {
      let data = {};
      try {
        data = JSON.parse(e.data);
      } catch (_) {
        data = { message: "The answer could not be completed." };
      }
      finish("error", data); // the server's own error event
      return;
    }
    // A connection problem: EventSource retries while CONNECTING.
    connectionErrors += 1;
    on.onConnection({ reconnecting: source.readyState === Source.CONNECTING });
    if (source.readyState === Source.CLOSED || connectionErrors >= MAX_CONNECTION_ERRORS) {
      source.close();
      poll();
    }
  });

  async function poll() {
    if (finished) return;
    pollTimer = null;
    try {
      const reply = await get(run.status_url, { headers: { Accept: "application/json" } });
      if (reply.ok) {
        const state = await reply.json();
        if (state.final) {
          finish(state.status === "done" ? "done" : "error", {
            ...state,
            code: state.error_code || state.status,
            message: state.error || "",
          });
          return;
        }
      }
    } catch (_) {
      // offline for a moment: keep polling
    }
    if (!finished) pollTimer = setTimeout(poll, pollMs);
  }

  return {
    close: stop,
    get finished() {
      return finished;
    },
  };
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export async function postJson(url, body) {
  const reply = await fetch(url, {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    body: body instanceof FormData ? body : new URLSearchParams(body || {}),
  });
  return readReply(reply);
}

// POST a JSON body. Used for text-carrying posts: Django reads a JSON body only in the
// view, which can then answer "too large" with a sentence (a form body over the upload
// limit is refused earlier, by the CSRF middleware, as a bare 400).
export async function sendJson(url, object) {
  const reply = await fetch(url, {
    method: "POST",
    headers: {
      "X-CSRFToken": csrfToken(),
      Accept: "application/json",
      "Content-Type": "application/json",
    },
    body: JSON.stringify(object || {}),
  });
  return readReply(reply);
}

const STATUS_SENTENCES = {
  400: "The request was refused as malformed. Reload the page and try again.",
  403: "The request was refused: your session may have expired. Reload the page and try again.",
  404: "That item was not found. Reload the page.",
  413: "The text is too large to send. Shorten it, or use Summarize for long documents.",
};

async function readReply(reply) {
  let data = {};
  try {
    data = await reply.json();
  } catch (_) {
    data = {
      error:
        STATUS_SENTENCES[reply.status] || "The server answered unexpectedly. Please try again.",
    };
  }
  return { ok: reply.ok, status: reply.status, data };
}
