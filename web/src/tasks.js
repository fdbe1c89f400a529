// Polls GET /tasks/{id} until the task is final. The server answers from its database, so a
// short interval is fine (contract §6.4).
//
// Only a definite answer ends the poll: a final status, or a 4xx (the task is gone or not
// ours). Anything else (no connection, any 5xx, a proxy's HTML page or a body that is not a
// task) says nothing about the task, which keeps running on the server: giving up then would
// drop a running task from view and let the person start it a second time. Such answers are
// retried with a growing delay instead.
import { getTask } from './api.js';

export const POLL_MS = 1200;
/** The longest wait between two tries while the server does not answer properly. */
export const MAX_BACKOFF_MS = 30_000;

/** Whether a failed poll says something about the task (it ends the poll) or only about the way there. */
export function isDefiniteFailure(error) {
  return error?.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

/** The wait before try number `failures` (1, 2, …) after answers that were not definite. */
export function backoffDelay(failures, interval = POLL_MS, retryAfterS = null) {
  const grown = Math.min(interval * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
  return Math.max(grown, (retryAfterS || 0) * 1000);
}

/** A body that is a task envelope (contract §6.2): anything else came from something in between. */
function isTaskEnvelope(task) {
  return Boolean(task) && typeof task === 'object' && typeof task.status_final === 'boolean';
}

/**
 * Starts polling; returns a function that stops it. `onUpdate(task)` gets each unfinished
 * state, `onUpdate(null, error)` each answer that was not definite (the poll goes on),
 * `onDone(task)` the final state and `onError(error)` a definite refusal.
 */
export function pollTask(email, taskId, { onUpdate, onDone, onError, interval = POLL_MS, fetchTask = getTask }) {
  let stopped = false;
  let timer = null;
  let failures = 0;
  const schedule = (ms) => {
    if (!stopped) timer = setTimeout(step, ms);
  };
  async function step() {
    let task;
    try {
      task = await fetchTask(email, taskId);
    } catch (error) {
      if (stopped) return;
      if (isDefiniteFailure(error)) {
        stopped = true;
        onError(error);
        return;
      }
      failures += 1;
      onUpdate?.(null, error);
      schedule(backoffDelay(failures, interval, error.retryAfter));
      return;
    }
    if (stopped) return;
    if (!isTaskEnvelope(task)) {
      failures += 1;
      onUpdate?.(null, new Error('The server’s answer was not a task.'));
      schedule(backoffDelay(failures, interval));
      return;
    }
    failures = 0;
    if (task.status_final) {
      stopped = true;
      onDone(task);
      return;
    }
    onUpdate?.(task);
    schedule(interval);
  }
  schedule(0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
