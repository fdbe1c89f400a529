// Tiny DOM helpers: elements are built with properties and text nodes, never from HTML strings,
// so names coming from the API cannot inject markup.

/**
 * h('button', {className: 'primary', onclick}, 'Save') → <button class="primary">Save</button>.
 * Keys starting with "on" become listeners; `dataset`, `aria-*`, `for` and `hidden` are handled.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'className') {
      el.className = value;
    } else if (key.startsWith('aria-') || key.startsWith('data-') || key === 'for' || key === 'role') {
      el.setAttribute(key, value === true ? 'true' : String(value));
    } else if (key in el) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the content of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A message box for errors or notes; role=alert for errors so screen readers announce it. */
export function messageBox(kind, text) {
  return h('p', { className: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** Saves bytes (or a Blob) under a file name through a temporary object URL. */
export function saveBlob(data, fileName, type = 'application/octet-stream') {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: fileName, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
