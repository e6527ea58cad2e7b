// The page shell, loaded on every page by base.html: the Menu button below ~800 px,
// drawers (any [data-drawer-toggle] button and the .shell-drawer it controls), Escape to
// close whichever of those (or an open <details class="inline-action">) is open, and the
// keyboard shortcut "/" to the page's message box (with a skip link to it).
// Listeners are delegated to the document, so markup added later works as well.

const root = document.documentElement;
root.classList.add("js-shell");

const NARROW = window.matchMedia("(max-width: 800px)");
const PRIMARY_INPUT = "[data-primary-input], #message, #rewrite-text";

// ---- Menu -------------------------------------------------------------------------
const menuToggle = document.querySelector(".menu-toggle");
const menu = document.getElementById("site-menu");

function setMenu(open, { focusToggle = false } = {}) {
  if (!menuToggle || !menu) return;
  menu.classList.toggle("is-open", open);
  menuToggle.setAttribute("aria-expanded", String(open));
  if (focusToggle) menuToggle.focus();
}

if (menuToggle && menu) {
  menuToggle.hidden = false;
  menuToggle.addEventListener("click", () => {
    const open = menuToggle.getAttribute("aria-expanded") !== "true";
    setMenu(open);
    if (open) menu.querySelector("a, button")?.focus();
  });
  // Back on a wide screen the menu is always shown; start closed when narrowed again.
  NARROW.addEventListener("change", () => setMenu(false));
}

// ---- Drawers ------------------------------------------------------------------------
let openDrawer = null; // { drawer, toggle, backdrop }

function backdropFor() {
  let backdrop = document.querySelector(".drawer-backdrop");
  if (!backdrop) {
    backdrop = document.createElement("div");
    backdrop.className = "drawer-backdrop";
    backdrop.addEventListener("click", () => closeDrawer());
    document.body.append(backdrop);
  }
  return backdrop;
}

export function openDrawerById(id, toggle) {
  const drawer = document.getElementById(id);
  if (!drawer) return;
  if (openDrawer) closeDrawer({ restoreFocus: false });
  const backdrop = backdropFor();
  drawer.classList.add("is-open");
  backdrop.classList.add("is-open");
  toggle?.setAttribute("aria-expanded", "true");
  openDrawer = { drawer, toggle, backdrop };
  if (!drawer.hasAttribute("tabindex")) drawer.setAttribute("tabindex", "-1");
  const first = drawer.querySelector(
    "a[href], button:not([disabled]), input:not([type=hidden]), select, textarea, [tabindex='0']",
  );
  (first || drawer).focus();
}

export function closeDrawer({ restoreFocus = true } = {}) {
  if (!openDrawer) return false;
  const { drawer, toggle, backdrop } = openDrawer;
  openDrawer = null;
  drawer.classList.remove("is-open");
  backdrop.classList.remove("is-open");
  toggle?.setAttribute("aria-expanded", "false");
  if (restoreFocus) toggle?.focus();
  return true;
}

document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-drawer-toggle]");
  if (toggle) {
    const id = toggle.dataset.drawerToggle;
    if (openDrawer && openDrawer.drawer.id === id) closeDrawer();
    else openDrawerById(id, toggle);
    return;
  }
  if (event.target.closest("[data-drawer-close]")) {
    closeDrawer();
    return;
  }
  // Following a link inside the drawer leaves it closed behind (same-page links too).
  if (openDrawer && event.target.closest("a[href]") && openDrawer.drawer.contains(event.target)) {
    closeDrawer({ restoreFocus: false });
  }
  // A click outside the open menu closes it.
  if (menu?.classList.contains("is-open") && !menu.contains(event.target) && !menuToggle.contains(event.target)) {
    setMenu(false);
  }
});

NARROW.addEventListener("change", (event) => {
  if (!event.matches) closeDrawer({ restoreFocus: false });
});

// ---- Escape -------------------------------------------------------------------------
// Closes the innermost thing that is open: a drawer, the menu, or the open inline dialog
// (<details class="inline-action"> such as Rename) that holds the focus. Other handlers
// (e.g. Stop while an answer streams) can check event.defaultPrevented.
export function closeOpenDialog(active = document.activeElement) {
  if (closeDrawer()) return true;
  if (menu?.classList.contains("is-open")) {
    setMenu(false, { focusToggle: true });
    return true;
  }
  const details = active?.closest?.("details[open].inline-action, details[open][data-dismissible]")
    || document.querySelector("details[open].inline-action, details[open][data-dismissible]");
  if (details) {
    details.open = false;
    details.querySelector("summary")?.focus();
    return true;
  }
  return false;
}

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !event.defaultPrevented && closeOpenDialog()) {
    event.preventDefault();
    return;
  }
  // "/" jumps to the message box unless one is typing somewhere already.
  if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event.target)) {
    const box = document.querySelector(PRIMARY_INPUT);
    if (box) {
      event.preventDefault();
      box.focus();
    }
  }
});

function typing(element) {
  if (!element || !(element instanceof Element)) return false;
  return element.isContentEditable || element.closest("input, textarea, select, [contenteditable]") !== null;
}

// ---- Skip link to the message box ------------------------------------------------
const primary = document.querySelector(PRIMARY_INPUT);
const skip = document.querySelector(".skip-link");
if (primary && primary.id && skip) {
  const link = document.createElement("a");
  link.className = "skip-link";
  link.href = `#${primary.id}`;
  link.textContent = "Skip to the message box (shortcut: /)";
  link.addEventListener("click", (event) => {
    event.preventDefault();
    primary.focus();
  });
  skip.after(link);
}

// ---- Local times ------------------------------------------------------------------
// <time datetime="…" data-local-time title="… UTC">: the server writes UTC (readable
// without the script); here it becomes the reader's own time zone, UTC kept in the title.
const LOCAL = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});
export function showLocalTimes(scope = document) {
  scope.querySelectorAll("time[data-local-time]").forEach((element) => {
    const when = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) return;
    element.textContent = LOCAL.format(when);
  });
}
showLocalTimes();
