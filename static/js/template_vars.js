// Fill-in variables in prompt templates: `{{customer}}` (letters, digits, spaces, _ and -,
// up to 40 characters) is a blank the employee fills in when using the template. Pure
// functions (no DOM at import), tested with node's test runner (tests/js/template_vars.test.mjs),
// plus inserting text at the cursor of a text box.

const VARIABLE = /\{\{\s*([A-Za-z0-9_][A-Za-z0-9_ -]{0,39}?)\s*\}\}/g;

// The distinct variable names of a template body, in order of first appearance.
// Names are compared ignoring case and surrounding spaces: {{Customer}} and {{ customer }}
// are one blank.
export function templateVariables(body) {
  const seen = new Map();
  for (const match of String(body).matchAll(VARIABLE)) {
    const name = match[1].trim();
    const key = name.toLowerCase();
    if (name && !seen.has(key)) seen.set(key, name);
  }
  return [...seen.values()];
}

// The body with every variable replaced by its value (looked up ignoring case). A variable
// without a value is left as it was, so nothing is silently lost. Values are inserted as
// they are: "$&" or "{{x}}" in a value are not interpreted again.
export function fillTemplate(body, values) {
  const byKey = new Map(Object.entries(values || {}).map(([name, value]) => [name.trim().toLowerCase(), value]));
  return String(body).replace(VARIABLE, (whole, name) => {
    const value = byKey.get(name.trim().toLowerCase());
    return value === undefined || value === null || value === "" ? whole : String(value);
  });
}

// Insert `text` at the cursor of a textarea or text input (replacing any selection), put
// the cursor after it, and tell listeners (the preview) that the value changed. A line
// break is added before / after when the text would otherwise run into a word.
export function insertAtCursor(field, text) {
  const value = field.value;
  const start = field.selectionStart ?? value.length;
  const end = field.selectionEnd ?? value.length;
  const multiline = field.tagName === "TEXTAREA";
  const before = value.slice(0, start);
  const after = value.slice(end);
  const lead = multiline && before && !/\s$/.test(before) ? "\n" : "";
  const trail = multiline && after && !/^\s/.test(after) ? "\n" : "";
  const inserted = `${lead}${text}${trail}`;
  field.value = before + inserted + after;
  const caret = before.length + lead.length + text.length;
  field.setSelectionRange?.(caret, caret);
  field.focus();
  field.dispatchEvent(new Event("input", { bubbles: true }));
  return field.value;
}
