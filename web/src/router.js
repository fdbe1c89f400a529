// History-based navigation shared by the views. main.js registers the renderer.
let renderer = () => {};

export function setRenderer(fn) {
  renderer = fn;
}

/** Navigates inside the studio without reloading the page. */
export function navigate(path, { replace = false, flash = null } = {}) {
  if (flash) showNotice(flash);
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  renderer();
}

let noticeTimer = null;

/** A short status line under the top bar ("Motion deleted."), announced politely. */
export function showNotice(text) {
  const notice = document.getElementById('notice');
  if (!notice) return;
  notice.textContent = text;
  notice.hidden = !text;
  clearTimeout(noticeTimer);
  if (text) noticeTimer = setTimeout(() => showNotice(''), 6000);
}
