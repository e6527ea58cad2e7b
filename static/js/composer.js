// Small helpers shared by the Chat and Rewrite pages.

import { fillTemplate, templateVariables } from "./template_vars.js";

export function tooLongMessage(length, limit) {
  return (
    `The text is ${length.toLocaleString("en")} characters; the limit is ` +
    `${limit.toLocaleString("en")}. Shorten it, or use Summarize for long documents.`
  );
}

// One polite live region for the page, so screen readers hear outcomes
// ("Answer copied.") without focus moving.
let region = null;
export function announce(message) {
  if (!region) {
    region = document.createElement("div");
    region.className = "visually-hidden";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    document.body.append(region);
  }
  region.textContent = "";
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // No clipboard permission (or not a secure context): copy through a selection.
    const scratch = document.createElement("textarea");
    scratch.value = text;
    scratch.setAttribute("readonly", "");
    scratch.className = "offscreen";
    document.body.append(scratch);
    scratch.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (_) {
      ok = false;
    }
    scratch.remove();
    return ok;
  }
}

// The template picker: "Use" hands the chosen template's body to `apply` (a button, not
// the select's change event: arrow keys change a select, and each press would insert).
// Bodies come from a json_script data block (not executed, so allowed by the CSP).
// A body with blanks ({{customer}}) first asks for them in a small form under the picker.
export function wireTemplatePicker(apply) {
  const picker = document.getElementById("template-picker");
  const button = document.getElementById("template-insert");
  const data = document.getElementById("template-bodies");
  if (!picker || !button || !data) return;
  const bodies = JSON.parse(data.textContent || "{}");
  button.addEventListener("click", () => {
    const body = bodies[picker.value];
    if (body === undefined) {
      announce("Choose a template first.");
      picker.focus();
      return;
    }
    // The id goes with the next send (audited as template.used for insights).
    const id = Number(picker.value);
    const names = templateVariables(body);
    if (!names.length) {
      apply(body, id);
      announce("Template used.");
      return;
    }
    const title = picker.options[picker.selectedIndex].textContent;
    askVariables(button.closest(".template-picker"), title, names, (values) => {
      apply(fillTemplate(body, values), id);
      announce("Template used.");
    });
  });
}

// A small group of labelled fields, one per blank; Insert (or Enter) fills them in,
// Cancel (or Escape) gives up. Built with text nodes only.
function askVariables(container, title, names, done) {
  container.querySelector(".template-vars")?.remove();
  const group = document.createElement("div");
  group.className = "template-vars";
  group.setAttribute("role", "group");
  const heading = document.createElement("p");
  heading.id = "template-vars-heading";
  heading.className = "template-vars-title";
  heading.textContent = `Fill in “${title.trim()}”`;
  group.setAttribute("aria-labelledby", heading.id);
  group.append(heading);
  const inputs = names.map((name, index) => {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "text";
    input.id = `template-var-${index}`;
    input.dataset.variable = name;
    input.maxLength = 2000;
    label.htmlFor = input.id;
    label.textContent = name;
    group.append(label, input);
    return input;
  });
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  const actions = document.createElement("div");
  actions.className = "composer-actions";
  const insert = document.createElement("button");
  insert.type = "button";
  insert.textContent = "Insert";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "secondary";
  cancel.textContent = "Cancel";
  actions.append(insert, cancel);
  group.append(error, actions);
  container.append(group);

  const close = () => {
    group.remove();
    document.getElementById("template-insert")?.focus();
  };
  const submit = () => {
    const empty = inputs.find((input) => !input.value.trim());
    if (empty) {
      error.textContent = `Fill in “${empty.dataset.variable}”.`;
      empty.focus();
      return;
    }
    const values = Object.fromEntries(inputs.map((input) => [input.dataset.variable, input.value]));
    group.remove();
    done(values);
  };
  insert.addEventListener("click", submit);
  cancel.addEventListener("click", close);
  group.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target instanceof HTMLInputElement) {
      event.preventDefault(); // not the surrounding form's submit
      submit();
    } else if (event.key === "Escape") {
      event.preventDefault(); // the shell's Escape handler leaves this press alone
      close();
    }
  });
  inputs[0].focus();
}

// Put the current conversation at the top of a sidebar list, marked as the current page.
export function prependCurrentLink(list, conversation) {
  list.querySelector('[aria-current="page"]')?.removeAttribute("aria-current");
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = conversation.url;
  link.textContent = conversation.title;
  link.setAttribute("aria-current", "page");
  item.append(link);
  list.prepend(item);
}
