// The API token, the chosen account and the names of the tasks this tab started live only in
// sessionStorage, with the failed uploads hidden in the library: they vanish with the tab and are
// never written to localStorage, cookies or URLs.
const TOKEN_KEY = 'motiond.token';
const EMAIL_KEY = 'motiond.email';
/** The names of the tasks this tab started: the scheduler lists tasks without names. */
const NAMES_KEY = 'motiond.taskNames';
/** The failed tasks the person hid from the library in this tab. */
const HIDDEN_FAILURES_KEY = 'motiond.hiddenFailures';

function storage() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

export function getToken() {
  return storage()?.getItem(TOKEN_KEY) || '';
}

export function setToken(token) {
  storage()?.setItem(TOKEN_KEY, token);
}

export function getEmail() {
  return storage()?.getItem(EMAIL_KEY) || '';
}

export function setEmail(email) {
  storage()?.setItem(EMAIL_KEY, email);
}

export function signOut() {
  storage()?.removeItem(TOKEN_KEY);
  storage()?.removeItem(EMAIL_KEY);
  storage()?.removeItem(NAMES_KEY);
  storage()?.removeItem(HIDDEN_FAILURES_KEY);
}

/** Tokens are opaque (contract §2.2) but must be non-empty and contain no whitespace. */
export function isPlausibleToken(token) {
  return typeof token === 'string' && token.length > 0 && !/\s/.test(token);
}

/**
 * A list kept in this tab's storage under `key`: its entries (those `isEntry` accepts), and
 * `add`, which puts an entry last (dropping an older one with the same `idOf`) and keeps the
 * newest `max`. A full or blocked storage only costs what would have been kept beyond the page.
 */
function tabList(key, { max, isEntry, idOf }) {
  const read = () => {
    try {
      const parsed = JSON.parse(storage()?.getItem(key) || '[]');
      return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
    } catch {
      return [];
    }
  };
  const add = (entry) => {
    const kept = read().filter((e) => idOf(e) !== idOf(entry));
    kept.push(entry);
    try {
      storage()?.setItem(key, JSON.stringify(kept.slice(-max)));
    } catch {
      // Kept for this page only.
    }
  };
  return { read, add };
}

/** Enough for any number of tasks one account runs at once, with room for finished ones. */
const names = tabList(NAMES_KEY, {
  max: 50,
  isEntry: (e) => Array.isArray(e) && e.length === 2,
  idOf: ([id]) => id,
});

/** Remembers the name a task was started with, for "Being processed" (this tab only). */
export function rememberTaskName(taskId, name) {
  if (!name) return;
  names.add([String(taskId), String(name)]);
}

/** The name a task of this tab was started with, or null. */
export function taskName(taskId) {
  const entry = names.read().find(([id]) => id === String(taskId));
  return entry ? entry[1] : null;
}

/** Enough for every failed task the library lists (the failed ones among the newest 50). */
const hiddenFailures = tabList(HIDDEN_FAILURES_KEY, {
  max: 100,
  isEntry: (e) => typeof e === 'string',
  idOf: (id) => id,
});

/**
 * Hides a failed task from the library's "Failed uploads" (this tab only): the task stays in
 * the account, so a new tab lists it again until it is deleted.
 */
export function hideFailedTask(taskId) {
  hiddenFailures.add(String(taskId));
}

/** Whether the person hid this failed task in this tab. */
export function isFailedTaskHidden(taskId) {
  return hiddenFailures.read().includes(String(taskId));
}
