// The API token and the chosen account live only in sessionStorage: they vanish with the tab
// and are never written to localStorage, cookies or URLs.
const TOKEN_KEY = 'motiond.token';
const EMAIL_KEY = 'motiond.email';

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
}

/** Tokens are opaque (contract §2.2) but must be non-empty and contain no whitespace. */
export function isPlausibleToken(token) {
  return typeof token === 'string' && token.length > 0 && !/\s/.test(token);
}
