// Small helpers shared by the Chat and Rewrite pages.

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
    apply(body, Number(picker.value));
    announce("Template used.");
  });
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
