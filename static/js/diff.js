// Word-level diff (Myers' O((N+M)·D) algorithm) and its rendering with <ins>/<del>.
//
//   const ops = diffWords(before, after);   // [{op: "equal"|"insert"|"delete", text}]
//   renderDiff(container, ops);             // text nodes only, never HTML
//
// Tokens are words, runs of whitespace and single punctuation marks, so "note." vs
// "notes." marks one word, not the sentence. Large, very different texts stop at
// MAX_EDITS and report `null`, so the page never freezes on a 100 KB rewrite.

const MAX_EDITS = 3000;

export function tokenize(text) {
  return text.match(/\s+|[\p{L}\p{N}_'’-]+|[^\s\p{L}\p{N}_'’-]/gu) || [];
}

export function diffWords(before, after) {
  const a = tokenize(before);
  const b = tokenize(after);
  const trace = shortestEdit(a, b);
  if (trace === null) return null;
  return merge(backtrack(trace, a, b));
}

function shortestEdit(a, b) {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDITS);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = []; // trace[d]: the part of v that step d reads (k in -d-1..d+1): O(D²)
  for (let d = 0; d <= max; d += 1) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x;
      if (k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])) {
        x = v[offset + k + 1]; // down: an insertion
      } else {
        x = v[offset + k - 1] + 1; // right: a deletion
      }
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return trace;
    }
  }
  return null;
}

function backtrack(trace, a, b) {
  const ops = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d -= 1) {
    const v = trace[d];
    const at = (k) => v[k + d + 1];
    const k = x - y;
    let prevK;
    if (k === -d || (k !== d && at(k - 1) < at(k + 1))) prevK = k + 1;
    else prevK = k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ op: "equal", text: a[x - 1] });
      x -= 1;
      y -= 1;
    }
    if (d > 0) {
      if (x === prevX) ops.push({ op: "insert", text: b[y - 1] });
      else ops.push({ op: "delete", text: a[x - 1] });
    }
    x = prevX;
    y = prevY;
  }
  return ops.reverse();
}

function merge(ops) {
  // Adjacent tokens of one kind become one run. Then a tiny unchanged piece between two
  // changes (a space, "=", ":") is folded into both sides: "<del>a = b</del><ins>c = d</ins>"
  // reads better than a change per word with single characters kept in between.
  const runs = join(ops);
  const out = [];
  for (let i = 0; i < runs.length; i += 1) {
    const item = runs[i];
    const between = i > 0 && i < runs.length - 1 && runs[i - 1].op !== "equal" && runs[i + 1].op !== "equal";
    if (item.op === "equal" && between && item.text.trim().length <= 1) {
      out.push({ op: "delete", text: item.text }, { op: "insert", text: item.text });
    } else {
      out.push(item);
    }
  }
  return reorder(out);
}

function join(ops) {
  const out = [];
  for (const item of ops) {
    const last = out[out.length - 1];
    if (last && last.op === item.op) last.text += item.text;
    else out.push({ ...item });
  }
  return out;
}

function reorder(ops) {
  // Within each stretch of changes: all deletions first, then all insertions.
  const out = [];
  let dels = "";
  let ins = "";
  const flush = () => {
    if (dels) out.push({ op: "delete", text: dels });
    if (ins) out.push({ op: "insert", text: ins });
    dels = "";
    ins = "";
  };
  for (const item of ops) {
    if (item.op === "delete") dels += item.text;
    else if (item.op === "insert") ins += item.text;
    else {
      flush();
      out.push(item);
    }
  }
  flush();
  return out;
}

export function renderDiff(container, ops) {
  container.replaceChildren();
  if (ops === null) {
    const note = document.createElement("p");
    note.textContent = "The texts differ too much to show word-level changes.";
    container.append(note);
    return;
  }
  for (const { op, text } of ops) {
    if (op === "equal") {
      container.append(document.createTextNode(text));
      continue;
    }
    const node = document.createElement(op === "insert" ? "ins" : "del");
    const label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = op === "insert" ? " [added: " : " [removed: ";
    const end = document.createElement("span");
    end.className = "visually-hidden";
    end.textContent = "] ";
    node.append(label, document.createTextNode(text), end);
    container.append(node);
  }
}
