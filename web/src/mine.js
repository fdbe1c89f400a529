// The user's own motions beyond one page: finding one by task and searching them by name.
import { listMyMotions } from './api.js';

/** Pages of 100 (the most the list gives at once), newest first, up to 2000 motions. */
export const WALK_PAGE_SIZE = 100;
export const WALK_PAGES = 20;

/**
 * Walks the user's motions newest first and collects those that `wanted` accepts, until `limit`
 * are found or the list (or the 2000-motion budget) ends. `complete` says whether every motion
 * was looked at. The walk stops as soon as `stillWanted()` is false (a newer search, the page
 * left). A failure on the first page is thrown; a later one ends the walk with what was found
 * and the error, so a passing 429 costs the rest of the search, not all of it.
 */
export async function collectMine(email, wanted, { limit = Infinity, list = listMyMotions, stillWanted = () => true } = {}) {
  const found = [];
  for (let page = 1; page <= WALK_PAGES; page += 1) {
    if (!stillWanted()) return { found, complete: false };
    let motions;
    try {
      motions = await list(email, page, WALK_PAGE_SIZE);
    } catch (error) {
      if (page === 1) throw error;
      return { found, complete: false, error };
    }
    for (const motion of motions) {
      if (!wanted(motion)) continue;
      found.push(motion);
      if (found.length >= limit) return { found, complete: false };
    }
    if (motions.length < WALK_PAGE_SIZE) return { found, complete: true };
  }
  return { found, complete: false };
}

/** Lower case without accents, so "Ballet" finds "ballet" and "cafe" finds "Café". */
export function foldForSearch(text) {
  return String(text ?? '')
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .trim();
}

/** Whether every word of the query is in the name (in any order). */
export function nameMatches(name, query) {
  const words = foldForSearch(query).split(/\s+/).filter(Boolean);
  const folded = foldForSearch(name);
  return words.every((word) => folded.includes(word));
}
