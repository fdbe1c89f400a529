// The studio's shell: client-side routing, the navigation bar and the session guard.
// Each view renders into <main> and may return a cleanup function that runs when the route
// changes (stopping polls, players and the WebGL renderer).
import './styles.css';
import { h, mount } from './dom.js';
import { getEmail, getToken, signOut } from './session.js';
import { signInView, accountView } from './views/signin.js';
import { libraryView } from './views/library.js';
import { motionView } from './views/motion.js';
import { createView } from './views/create.js';
import { navigate, setRenderer } from './router.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let cleanup = null;
let renderCount = 0;
/** The path and query of the page shown, to tell a move inside it (`#main`) from a new page. */
let shownAddress = '';

const routes = [
  { pattern: /^\/$/, view: libraryView, needs: 'account', title: 'Library' },
  { pattern: /^\/library$/, view: libraryView, needs: 'account', title: 'Library' },
  { pattern: /^\/signin$/, view: signInView, needs: null, title: 'Sign in' },
  { pattern: /^\/account$/, view: accountView, needs: 'token', title: 'Account' },
  { pattern: /^\/create$/, view: createView, needs: 'account', title: 'Create a motion' },
  { pattern: /^\/official\/(-\d+)$/, view: motionView, needs: 'account', title: 'Motion', kind: 'official' },
  { pattern: /^\/mine\/(\d+)$/, view: motionView, needs: 'account', title: 'Motion', kind: 'mine' },
];

function renderNav() {
  const items = [];
  if (getToken() && getEmail()) {
    const here = location.pathname;
    const link = (href, label) =>
      h('a', { href, 'aria-current': here === href ? 'page' : null }, label);
    items.push(link('/', 'Library'), link('/create', 'Create'));
    items.push(
      h('a', { href: '/account', className: 'account-link', title: 'Switch account' }, getEmail()),
    );
  }
  if (getToken()) {
    items.push(
      h('button', {
        type: 'button',
        className: 'link-button',
        onclick: () => {
          signOut();
          navigate('/signin', { flash: 'Signed out.' });
        },
      }, 'Sign out'),
    );
  }
  mount(nav, items);
}

function notFoundView(container) {
  mount(
    container,
    h('h1', { tabIndex: -1 }, 'Page not found'),
    h('p', {}, 'There is nothing at this address. ', h('a', { href: '/' }, 'Go to the library'), '.'),
  );
}

async function render() {
  const count = ++renderCount;
  if (cleanup) {
    try {
      cleanup();
    } catch {
      // A view's cleanup must never stop the next view from rendering.
    }
    cleanup = null;
  }
  shownAddress = location.pathname + location.search;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const route = routes.find((r) => r.pattern.test(path));
  if (route?.needs && !getToken()) {
    const next = encodeURIComponent(location.pathname + location.search);
    navigate(`/signin?next=${next}`, { replace: true });
    return;
  }
  if (route?.needs === 'account' && !getEmail()) {
    navigate(`/account?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    return;
  }
  renderNav();
  document.title = `${route ? route.title : 'Not found'} · motiond studio`;
  main.replaceChildren();
  if (!route) {
    notFoundView(main);
    return;
  }
  const match = path.match(route.pattern);
  const result = await route.view(main, {
    params: match.slice(1),
    kind: route.kind,
    query: new URLSearchParams(location.search),
    isCurrent: () => count === renderCount,
  });
  if (count !== renderCount) {
    if (typeof result === 'function') result();
    return;
  }
  cleanup = typeof result === 'function' ? result : null;
  // After an in-studio navigation, move focus to the new page's heading so screen readers
  // announce it; the first load leaves focus alone so the skip link is the first Tab stop.
  const heading = main.querySelector('h1');
  if (count > 1 && heading && !main.contains(document.activeElement)) heading.focus({ preventScroll: true });
}

/**
 * A link to a place in this page (the skip link's `#main`) is the browser's to follow: it
 * scrolls there. Focus is moved there too (main has tabindex=-1), so that a screen reader
 * reads on from there and the next Tab starts there.
 */
function followInPageLink(url) {
  document.getElementById(decodeURIComponent(url.hash.slice(1)))?.focus({ preventScroll: true });
}

// Same-origin links are routed in the page; downloads, files and API links are left alone.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest('a[href]');
  if (!link || link.hasAttribute('download') || link.target) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin) return;
  if (/^\/(files|v1|healthz|readyz|metrics|openapi\.json)(\/|$)/.test(url.pathname)) return;
  if (url.hash && url.pathname === location.pathname && url.search === location.search) {
    followInPageLink(url);
    return;
  }
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) {
    navigate(url.pathname + url.search);
  }
});

// Going back over an in-page link (`#main`) stays on the same page: nothing to render again.
window.addEventListener('popstate', () => {
  if (location.pathname + location.search !== shownAddress) render();
});
window.addEventListener('motiond:unauthorized', () => {
  signOut();
  const next = encodeURIComponent(location.pathname + location.search);
  navigate(`/signin?next=${next}`, { replace: true, flash: 'Your token is no longer accepted. Sign in again.' });
});
window.addEventListener('unhandledrejection', (event) => {
  // Media play() promises reject when a hover preview is interrupted; that is not an error.
  if (event.reason && event.reason.name === 'AbortError') event.preventDefault();
});

setRenderer(render);
render();
