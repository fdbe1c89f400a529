// Polls GET /tasks/{id} until the task is final. The server answers from its database, so a
// short interval is fine (contract §6.4); 429 and 503 answers slow the poll down instead of
// ending it.
import { getTask } from './api.js';

export const POLL_MS = 1200;

/** Starts polling; returns a function that stops it. */
export function pollTask(email, taskId, { onUpdate, onDone, onError, interval = POLL_MS }) {
  let stopped = false;
  let timer = null;
  const schedule = (ms) => {
    if (!stopped) timer = setTimeout(step, ms);
  };
  async function step() {
    try {
      const task = await getTask(email, taskId);
      if (stopped) return;
      if (task.status_final) {
        stopped = true;
        onDone(task);
        return;
      }
      onUpdate?.(task);
      schedule(interval);
    } catch (error) {
      if (stopped) return;
      if (error.status === 429 || error.status === 503 || error.status === 0) {
        onUpdate?.(null, error);
        schedule(Math.max(interval, (error.retryAfter || 3) * 1000));
        return;
      }
      stopped = true;
      onError(error);
    }
  }
  schedule(0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
