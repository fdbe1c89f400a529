// Sign in with an API token, then pick or create the account to work in.
import { ApiError, createAccount, listAccountEmails } from '../api.js';
import { h, messageBox, mount } from '../dom.js';
import { navigate } from '../router.js';
import { getEmail, getToken, isPlausibleToken, setEmail, setToken } from '../session.js';

/**
 * Only in-studio paths are accepted as the place to return to after signing in: the value is
 * resolved as the browser would (`/\\host` names another host) and must stay on this origin.
 */
export function safeNext(query, origin = globalThis.location?.origin) {
  const next = query.get('next') || '/';
  if (!next.startsWith('/') || !origin) return '/';
  let url;
  try {
    url = new URL(next, origin);
  } catch {
    return '/';
  }
  // The path itself must not read as another host either (`/.//host` resolves to `//host`).
  if (url.origin !== origin || url.pathname.startsWith('//')) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}

export function signInView(container, { query }) {
  const status = h('div', { className: 'form-status' });
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: false,
    required: true,
    'aria-describedby': 'token-help',
  });
  const button = h('button', { type: 'submit', className: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { className: 'card-form', noValidate: true },
    h('label', { for: 'token' }, 'API token'),
    input,
    h(
      'p',
      { id: 'token-help', className: 'hint' },
      'Ask the operator for a token (made with ',
      h('code', {}, 'motiond token create --user NAME'),
      '). It is kept only in this browser tab and forgotten when the tab closes.',
    ),
    button,
    status,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!isPlausibleToken(token)) {
      mount(status, messageBox('error', 'Enter your API token: one word, without spaces.'));
      input.focus();
      return;
    }
    button.disabled = true;
    mount(status, messageBox('note', 'Checking the token…'));
    try {
      const emails = await listAccountEmails(token);
      setToken(token);
      if (emails.length === 1) {
        setEmail(emails[0]);
        navigate(safeNext(query), { replace: true });
      } else {
        setEmail('');
        navigate(`/account?next=${encodeURIComponent(safeNext(query))}`, { replace: true });
      }
    } catch (error) {
      const text = error instanceof ApiError ? error.message : 'Signing in failed.';
      mount(status, messageBox('error', text));
      button.disabled = false;
      input.focus();
    }
  });
  mount(
    container,
    h('h1', { tabIndex: -1 }, 'Sign in'),
    h('p', { className: 'lead' }, 'Browse the motion library, preview motions in 3D and turn your own videos into motions.'),
    form,
  );
  if (!getToken()) input.focus();
}

function accountChoice(email, next) {
  const current = email === getEmail();
  return h(
    'li',
    {},
    h(
      'button',
      {
        type: 'button',
        className: current ? 'choice current' : 'choice',
        'aria-pressed': current ? 'true' : 'false',
        onclick: () => {
          setEmail(email);
          navigate(next, { flash: `Using account ${email}.` });
        },
      },
      email,
    ),
  );
}

/** Said when "Create account" names an account the user already has. */
export const ACCOUNT_EXISTS = 'That account already exists. Choose it in the list to work in it; creating it again would reset its settings.';

/** Whether `email` names one of `emails`; the server keeps emails lowercased (contract §3.1). */
export function hasAccount(emails, email) {
  const wanted = String(email).trim().toLowerCase();
  return emails.some((known) => known.toLowerCase() === wanted);
}

/**
 * POST /accounts on an existing email replaces its maxJobs and clears its webhook address
 * (contract §3.2), so an account is only created when the user has none by that email: in
 * the list shown, nor on the server now (another tab may have made it since).
 */
function createAccountForm(next, emails, onError) {
  const email = h('input', { id: 'new-email', name: 'email', type: 'email', required: true, autocomplete: 'email', maxLength: 254 });
  const maxJobs = h('input', { id: 'new-maxjobs', name: 'maxJobs', type: 'number', min: 1, max: 50, value: 2, required: true });
  const button = h('button', { type: 'submit', className: 'primary' }, 'Create account');
  const form = h(
    'form',
    { className: 'card-form', noValidate: true },
    h('label', { for: 'new-email' }, 'Account email'),
    email,
    h('p', { className: 'hint' }, 'Only a label for this workspace: nothing is sent to it.'),
    h('label', { for: 'new-maxjobs' }, 'Jobs that may run at the same time (1–50)'),
    maxJobs,
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = email.value.trim();
    const jobs = Number.parseInt(maxJobs.value, 10);
    if (!value) return onError('Enter an email address for the account.', email);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 50) {
      return onError('Jobs at the same time must be a whole number from 1 to 50.', maxJobs);
    }
    if (hasAccount(emails, value)) return onError(ACCOUNT_EXISTS, email);
    button.disabled = true;
    try {
      if (hasAccount(await listAccountEmails(), value)) {
        button.disabled = false;
        return onError(ACCOUNT_EXISTS, email);
      }
      const account = await createAccount(value, jobs);
      setEmail(account.email);
      navigate(next, { flash: `Account ${account.email} is ready.` });
    } catch (error) {
      button.disabled = false;
      onError(error instanceof ApiError ? error.message : 'Creating the account failed.', email);
    }
    return undefined;
  });
  return form;
}

export async function accountView(container, { query, isCurrent }) {
  const next = safeNext(query);
  const status = h('div', { className: 'form-status' });
  const showError = (text, field) => {
    mount(status, messageBox('error', text));
    field?.focus();
  };
  mount(container, h('h1', { tabIndex: -1 }, 'Account'), messageBox('note', 'Loading your accounts…'));
  let emails;
  try {
    emails = await listAccountEmails();
  } catch (error) {
    if (!isCurrent()) return;
    mount(container, h('h1', { tabIndex: -1 }, 'Account'), messageBox('error', error.message));
    return;
  }
  if (!isCurrent()) return;
  const parts = [h('h1', { tabIndex: -1 }, 'Account')];
  if (emails.length) {
    parts.push(
      h('p', {}, 'Motions, uploads and jobs belong to one account. Choose the one to work in:'),
      h('ul', { className: 'choices', 'aria-label': 'Your accounts' }, emails.map((e) => accountChoice(e, next))),
      h('h2', {}, 'Or create another account'),
    );
  } else {
    parts.push(h('p', {}, 'You have no account yet. Create one to keep your motions in:'));
  }
  parts.push(createAccountForm(next, emails, showError), status);
  mount(container, parts);
}
