// The account's failed uploads. A task that ends without a motion is in no list of motions,
// and the scheduler forgets it once it is final: only the task list (contract §6.5) still has
// it, so a task that failed while the studio was closed is found there.
import { listTasks } from './api.js';

/** How far back the library looks: the failed ones among the account's newest 50 tasks. */
export const FAILED_LOOKBACK = 50;
/** The status of a task that ended without a motion (contract §6.1). */
const STATUS_FAILED = 50;

/** The failed tasks among task envelopes, in their order (the list's is newest first). */
export function failedTasks(history) {
  return history.filter((envelope) => envelope?.status === STATUS_FAILED && envelope.status_final === true && envelope.task?.id);
}

/** The account's recent failed tasks, newest first; rejects when the list cannot be read. */
export async function recentFailedTasks(email, list = listTasks) {
  return failedTasks(await list(email, FAILED_LOOKBACK));
}
