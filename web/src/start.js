// The start of an extraction (POST /videos/motion-upload) and what to do when its answer says
// nothing. The API has no idempotency key (contract §5.1): a proxy's 502, a lost connection or
// a page that is not JSON may come after the server created the task. Saying "could not start"
// then makes the person retry into a duplicate task, or believe nothing runs while it does; so
// the account's newest tasks are searched for the one the request made before anything is said.
import { listTasks } from './api.js';

/** How many of the account's newest tasks are searched: the start's own is among the first. */
export const LOOKUP_PAGE_SIZE = 20;
/**
 * The waits before each search: one right away, then re-checks 3 s and 13 s after the answer,
 * for a server (or a proxy's queue) still handing the request on: a task written after the
 * last search is missed, and the retry offered then makes a second one.
 */
export const LOOKUP_DELAYS_MS = [0, 3000, 10_000];
/**
 * How much earlier than the bound of {@link earliestCreateTime} a found task may seem to be
 * created: `createTime` is the API's clock, and the bound's times may come from other clocks
 * (the browser's; behind a proxy, the `Date` the proxy wrote; with several API machines, one
 * that did not serve the start). Wide: the upload's fid is what tells the tasks apart, and the
 * only earlier task made from the same upload would be one an earlier unclear start made,
 * which is the one wanted too (a definite refusal makes none, and a followed task's upload is
 * deleted); the window is a bound only.
 */
export const CLOCK_SLACK_MS = 15 * 60_000;

/**
 * The earliest `createTime` the task of a start may have: {@link CLOCK_SLACK_MS} before the
 * earlier of the browser's time before sending (`sentAt`) and the server's time of the upload's
 * answer (`uploadAnsweredAt`, from its `Date`, or null), which came before the start was sent
 * whatever the browser's clock says. With the browser's time alone, a browser clock set more
 * than the slack ahead missed the task, and the retry offered then made a second one.
 */
export function earliestCreateTime(uploadAnsweredAt, sentAt) {
  const answered = Number.isFinite(uploadAnsweredAt) ? uploadAnsweredAt : Infinity;
  return Math.min(answered, sentAt) - CLOCK_SLACK_MS;
}

/** A start's answer that is a task envelope (contract §6.2) of a task with an id. */
export function isStartedEnvelope(body) {
  return Boolean(body) && typeof body === 'object' && typeof body.status_final === 'boolean' && Number.isSafeInteger(body.task?.id);
}

/**
 * Whether a failed start says nothing about the task: no connection, any 5xx, or an answer
 * whose body is not the contract's JSON (it came from something in between). A 4xx with the
 * server's `{"error": …}` is a definite refusal: nothing was created.
 */
export function isIndefiniteStart(error) {
  if (error?.status === 0 || error?.status >= 500) return true;
  return typeof error?.raw?.error !== 'string';
}

/**
 * A file URL as the server recognises it (contract §2.9): its last three path segments,
 * `files/<fid>/<name>`; host, port and prefix may differ between the asset's URL and the
 * task's canonical one. Null for anything else.
 */
export function fileKey(url) {
  let path;
  try {
    path = new URL(url).pathname;
  } catch {
    return null;
  }
  const match = /\/files\/([A-Za-z0-9_-]{32})\/([^/]+)$/.exec(path);
  return match ? `${match[1]}/${match[2]}` : null;
}

/**
 * Whether a task is the one a start may have created: made from the same uploaded video (its
 * fid is unique to that upload) and created no earlier than `notBefore` (see
 * {@link earliestCreateTime}). The envelope has no name (only a finished motion has one), so
 * the video is what tells it apart.
 */
export function madeByStart(envelope, { resourceUrl, notBefore }) {
  const wanted = fileKey(resourceUrl);
  const input = envelope?.task?.taskInfo?.inputs?.[0];
  if (!wanted || !input || fileKey(input.url) !== wanted) return false;
  return Number(envelope.task.createTime) >= notBefore;
}

/**
 * Searches the account's newest tasks for the one a start whose answer said nothing may have
 * created (`sent`: the `resourceUrl` it sent and `notBefore`, see {@link madeByStart}).
 * Resolves to `{ envelope }` when found, `{ envelope: null }` when every search answered and
 * none has it, and `{ envelope: null, error }` when the last search could not be made: then
 * nobody can tell whether the task exists. `stillWanted()` false ends it early.
 */
export async function findStartedTask(email, sent, {
  list = listTasks,
  delays = LOOKUP_DELAYS_MS,
  wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  stillWanted = () => true,
} = {}) {
  let error = null;
  for (const delay of delays) {
    if (delay) await wait(delay);
    if (!stillWanted()) break;
    try {
      const found = (await list(email, LOOKUP_PAGE_SIZE)).find((envelope) => madeByStart(envelope, sent));
      if (found) return { envelope: found };
      error = null;
    } catch (failure) {
      error = failure;
    }
  }
  return error ? { envelope: null, error } : { envelope: null };
}
