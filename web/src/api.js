// Thin client for the public motiond API (api-contract.md). Every call goes to the same
// origin that served the studio, so no CORS is involved and the token never leaves it.
import { getToken } from './session.js';

export const API_BASE = '/v1/kling';

/** An API failure, carrying the HTTP status and a sentence a person can act on. */
export class ApiError extends Error {
  constructor(status, message, { retryAfter = null, raw = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfter = retryAfter;
    this.raw = raw;
  }
}

/**
 * Turns an HTTP status and the contract's `{"error": …}` body into plain words. The contract's
 * texts are already sentences, so they are kept; the status adds what the person should do.
 */
export function describeError(status, body, retryAfter) {
  const text = body && typeof body.error === 'string' ? body.error : '';
  switch (status) {
    case 0:
      return 'Could not reach the motiond server. Check your connection and try again.';
    case 401:
      return 'Your API token was not accepted. It may have been revoked: sign in again with a valid token.';
    case 413:
      return text ? `The file is too large. ${text}.` : 'The file is too large.';
    case 429: {
      const wait = retryAfter ? ` Try again in ${retryAfter} s.` : ' Try again in a moment.';
      if (text.startsWith('Too many jobs')) return `${text}. Wait for a running job to finish.${wait}`;
      return `The server is receiving too many requests.${wait}`;
    }
    case 500:
      return 'The server ran into an internal error. Try again; if it keeps happening, tell the operator.';
    case 503:
      return 'The server is temporarily unavailable. Try again in a few seconds.';
    default:
      if (text.includes('VALID.ResourceNotFound')) {
        return 'The uploaded video was not found on the server any more. Upload it again.';
      }
      if (text) return text.endsWith('.') ? text : `${text}.`;
      return `The server answered with an unexpected error (HTTP ${status}).`;
  }
}

async function readBody(response) {
  const type = response.headers.get('content-type') || '';
  if (!type.includes('application/json')) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function retryAfterOf(response) {
  const value = Number.parseInt(response.headers.get('retry-after') || '', 10);
  return Number.isFinite(value) ? value : null;
}

/** Builds `/v1/kling<path>?<query>`, skipping absent query values. */
export function apiUrl(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const qs = params.toString();
  return `${API_BASE}${path}${qs ? `?${qs}` : ''}`;
}

/**
 * One JSON API call. Resolves to the parsed body; rejects with an ApiError. With `keepalive`
 * the request is finished even when the page unloads meanwhile (its answer is then unread).
 */
export async function apiRequest(method, path, { query, json, token = getToken(), keepalive = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store' };
  if (keepalive) init.keepalive = true;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(apiUrl(path, query), init);
  } catch {
    throw new ApiError(0, describeError(0));
  }
  const body = await readBody(response);
  if (!response.ok) {
    // A stored token that stops working (revoked) ends the session; the shell shows sign-in.
    if (response.status === 401 && token && token === getToken()) {
      globalThis.dispatchEvent?.(new Event('motiond:unauthorized'));
    }
    const retryAfter = retryAfterOf(response);
    throw new ApiError(response.status, describeError(response.status, body, retryAfter), {
      retryAfter,
      raw: body,
    });
  }
  return body;
}

/** Says why an upload ended without an answer: the person (or the page) stopped it. */
export const UPLOAD_CANCELLED = 'The upload was cancelled.';

/**
 * Uploads a file as the raw body of POST /assets (contract §4.1) with XHR, because fetch
 * cannot report upload progress. `onProgress` gets a fraction 0..1; aborting `signal` stops
 * the upload (the server then keeps nothing) and rejects with {@link UPLOAD_CANCELLED}.
 * Resolves to `{ asset, answeredAt }`: the answer's body, and the server's time of the answer
 * (its `Date`, ms since the epoch; null when missing).
 */
export function uploadAsset(file, contentType, email, onProgress, { token = getToken(), signal } = {}) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ApiError(0, UPLOAD_CANCELLED));
      return;
    }
    const xhr = new XMLHttpRequest();
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.open('POST', apiUrl('/assets', { email }));
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) {
        onProgress(1);
        const answeredAt = Date.parse(xhr.getResponseHeader('date') || '');
        resolve({ asset: body, answeredAt: Number.isFinite(answeredAt) ? answeredAt : null });
        return;
      }
      const retryAfter = Number.parseInt(xhr.getResponseHeader('retry-after') || '', 10) || null;
      reject(new ApiError(xhr.status, describeError(xhr.status, body, retryAfter), { retryAfter, raw: body }));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, describeError(0))));
    xhr.addEventListener('abort', () => reject(new ApiError(0, UPLOAD_CANCELLED)));
    xhr.send(file);
  });
}

/**
 * File URLs carry the server's `public_url`, which may name another host than the one the
 * browser used (for example 127.0.0.1 vs localhost). Capability URLs are recognised by their
 * `/files/<fid>/<name>` tail (contract §2.9) and fetched from this origin instead, keeping any
 * path prefix; other URLs (presigned object-store URLs) are used as given.
 */
export function sameOriginFileUrl(url, origin = globalThis.location?.origin) {
  if (!url) return url;
  let parsed;
  try {
    parsed = new URL(url, origin);
  } catch {
    return url;
  }
  if (parsed.origin === origin) return parsed.href;
  if (/\/files\/[A-Za-z0-9_-]{32}\/[^/]+$/.test(parsed.pathname)) {
    return `${origin}${parsed.pathname}`;
  }
  return parsed.href;
}

/** GET a file (capability URL, no token) as bytes. */
export async function fetchFileBytes(url) {
  let response;
  try {
    response = await fetch(sameOriginFileUrl(url));
  } catch {
    throw new ApiError(0, describeError(0));
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      response.status === 404
        ? 'The file is no longer available on the server.'
        : `Downloading the file failed (HTTP ${response.status}).`,
    );
  }
  return new Uint8Array(await response.arrayBuffer());
}

// --- endpoint helpers -------------------------------------------------------------------

/** Validates a token and lists the user's accounts without a 404 for "no account yet". */
export async function listAccountEmails(token) {
  const body = await apiRequest('GET', '/scheduler/available', { token });
  return (body.available || []).map((entry) => entry.email);
}

export function createAccount(email, maxJobs) {
  return apiRequest('POST', '/accounts', { json: { email, maxJobs } });
}

export function listOfficialMotions(email) {
  return apiRequest('GET', '/videos/motions', { query: { email } });
}

export function listMyMotions(email, pageNum, pageSize) {
  return apiRequest('GET', '/videos/motions', { query: { email, mine: 'true', pageNum, pageSize } });
}

export function getTask(email, taskId) {
  return apiRequest('GET', `/tasks/${encodeURIComponent(taskId)}`, { query: { email } });
}

/**
 * The account's newest motion tasks in every status (contract §6.5: newest first, at most 100):
 * the only place a task that failed is listed.
 */
export async function listTasks(email, pageSize) {
  const body = await apiRequest('GET', '/tasks', { query: { email, contentType: 'video', pageSize } });
  // A body without the list (a proxy's page answered 200) says nothing, not "no tasks".
  if (!Array.isArray(body?.history)) throw new ApiError(0, 'The server’s answer was not a list of tasks.');
  return body.history;
}

export function deleteTask(email, taskId) {
  return apiRequest('DELETE', `/tasks/${encodeURIComponent(taskId)}`, { query: { email } });
}

export function startMotionUpload(email, { resourceUrl, coverUrl, workName }) {
  const json = { email, resourceUrl, coverUrl };
  if (workName) json.workName = workName;
  return apiRequest('POST', '/videos/motion-upload', { json });
}

/**
 * The id of one of the account's uploaded assets, found by the `fileName` its upload answered
 * with (contract §4.2: the upload itself answers no id); null when it is not there.
 */
export async function findUploadedAssetId(email, fileName, token = getToken()) {
  const found = await apiRequest('GET', '/assets/uploaded', { query: { email, fileName }, token });
  const asset = (found.uploadAssetsList || []).find((a) => a.name === fileName);
  return asset ? asset.id : null;
}

/**
 * Deletes one of the account's uploaded assets by its id (contract §4.3), in one request that
 * `keepalive` lets finish while the page unloads. Resolves to whether it was there.
 */
export async function deleteUploadedAssetById(email, id, { token = getToken(), keepalive = false } = {}) {
  const gone = await apiRequest('DELETE', '/assets/uploaded', { query: { email, id }, token, keepalive });
  return gone.deleted === 1;
}

/**
 * Deletes one of the account's uploaded assets by the `fileName` its upload answered with,
 * when its id is not known yet (§4.2 finds it, §4.3 deletes it). Resolves to whether it was there.
 */
export async function deleteUploadedAsset(email, fileName, token = getToken()) {
  const id = await findUploadedAssetId(email, fileName, token);
  if (id === null) return false;
  return deleteUploadedAssetById(email, id, { token });
}

export function listScheduler() {
  return apiRequest('GET', '/scheduler');
}
