// The library: the user's own motions (paged), with the tasks being processed and the uploads
// that failed, and the official catalog grouped by tag, as grids of covers whose preview video
// plays while the pointer or focus is on them.
import { getTask, listMyMotions, listOfficialMotions, listScheduler, sameOriginFileUrl } from '../api.js';
import { h, messageBox, mount } from '../dom.js';
import { recentFailedTasks } from '../failed.js';
import { WALK_PAGE_SIZE, WALK_PAGES, collectMine, nameMatches } from '../mine.js';
import { getEmail, hideFailedTask, isFailedTaskHidden, taskName } from '../session.js';

export const PAGE_SIZE = 12;
/** The largest `pageNum` the motions list accepts (contract §6.3). */
const MAX_PAGE_NUM = 1000000;

const TAG_TITLES = { basic: 'Basic', dance: 'Dance', sport: 'Sport', gesture: 'Gesture' };

function tagTitle(tag) {
  if (!tag) return 'Other';
  return TAG_TITLES[tag] || tag.charAt(0).toUpperCase() + tag.slice(1);
}

/** Groups official motions by tag, keeping the catalog order inside each group. */
export function groupByTag(motions) {
  const groups = new Map();
  for (const motion of motions) {
    const tag = motion.tag || '';
    if (!groups.has(tag)) groups.set(tag, []);
    groups.get(tag).push(motion);
  }
  const known = Object.keys(TAG_TITLES);
  return [...groups.entries()].sort(([a], [b]) => {
    const ia = known.indexOf(a) === -1 ? known.length : known.indexOf(a);
    const ib = known.indexOf(b) === -1 ? known.length : known.indexOf(b);
    return ia - ib || a.localeCompare(b);
  });
}

export function motionHref(motion) {
  return motion.official ? `/official/${motion.workId}` : `/mine/${motion.taskId}`;
}

function startPreview(video) {
  if (!video.src) video.src = video.dataset.src;
  video.hidden = false;
  const playing = video.play();
  if (playing) playing.catch(() => {});
}

function stopPreview(video) {
  video.pause();
  video.hidden = true;
}

/** One motion as a link with its cover; the preview video loads only when first hovered. */
export function motionCard(motion) {
  const video = h('video', {
    muted: true,
    loop: true,
    playsInline: true,
    preload: 'none',
    hidden: true,
    'aria-hidden': 'true',
    dataset: { src: sameOriginFileUrl(motion.resource?.resource || '') },
  });
  video.defaultMuted = true;
  const cover = h('img', {
    src: sameOriginFileUrl(motion.cover?.resource || ''),
    alt: '',
    loading: 'lazy',
    decoding: 'async',
  });
  const card = h(
    'a',
    { className: 'motion-card', href: motionHref(motion), dataset: { workId: String(motion.workId) } },
    h('span', { className: 'thumb' }, cover, video),
    h('span', { className: 'motion-name' }, motion.workName || 'Untitled motion'),
  );
  card.addEventListener('mouseenter', () => startPreview(video));
  card.addEventListener('focus', () => startPreview(video));
  card.addEventListener('mouseleave', () => stopPreview(video));
  card.addEventListener('blur', () => stopPreview(video));
  return card;
}

function grid(motions, label) {
  return h('ul', { className: 'motion-grid', 'aria-label': label }, motions.map((m) => h('li', {}, motionCard(m))));
}

function pager(pageNum, hasNext) {
  const link = (page, label, rel) => h('a', { className: 'button', href: page === 1 ? '/' : `/?page=${page}`, rel }, label);
  if (pageNum === 1 && !hasNext) return null;
  return h(
    'nav',
    { className: 'pager', 'aria-label': 'Pages of your motions' },
    pageNum > 1 ? link(pageNum - 1, '← Newer', 'prev') : null,
    h('span', {}, `Page ${pageNum}`),
    hasNext ? link(pageNum + 1, 'Older →', 'next') : null,
  );
}

/** Whether any motion comes after page `pageNum` (its first one, read as a page of one). */
async function hasOlder(email, pageNum, shown) {
  const firstOlder = pageNum * PAGE_SIZE + 1;
  if (shown < PAGE_SIZE || firstOlder > MAX_PAGE_NUM) return false;
  try {
    return (await listMyMotions(email, firstOlder, 1)).length > 0;
  } catch {
    return true; // A full page probably has more; the next page says so if not.
  }
}

async function renderMine(section, email, pageNum, stillWanted = () => true) {
  const motions = await listMyMotions(email, pageNum, PAGE_SIZE);
  const body = [];
  if (motions.length) {
    body.push(grid(motions, 'Your motions'));
  } else if (pageNum > 1) {
    body.push(h('p', {}, 'There are no motions on this page. ', h('a', { href: '/' }, 'Back to the first page'), '.'));
  } else {
    body.push(h('p', { className: 'empty' }, 'You have no motions yet. ', h('a', { href: '/create' }, 'Create one from a video'), '.'));
  }
  body.push(pager(pageNum, await hasOlder(email, pageNum, motions.length)));
  if (stillWanted()) mount(section, body);
}

/** The most matches shown for a search of the user's own motions. */
const SEARCH_SHOWN = 60;

/**
 * The user's motions whose names match `query`, searched over the newest 2000; resolves to the
 * sentence that counts them (null when a newer search took over).
 */
async function renderMineSearch(section, email, query, stillWanted) {
  const { found, complete, error } = await collectMine(email, (m) => nameMatches(m.workName, query), {
    limit: SEARCH_SHOWN + 1,
    stillWanted,
  });
  if (!stillWanted()) return null;
  const shown = found.slice(0, SEARCH_SHOWN);
  let count = `${shown.length} of your motions match.`;
  if (shown.length === 0) count = 'None of your motions matches.';
  if (shown.length === 1) count = '1 of your motions matches.';
  let note = null;
  if (error) note = `The search stopped early (${error.message}): these are the matches found before that.`;
  else if (found.length > SEARCH_SHOWN) note = `These are the newest ${SEARCH_SHOWN}: add a word to narrow the search.`;
  else if (!complete) note = `Only your newest ${WALK_PAGES * WALK_PAGE_SIZE} motions were searched.`;
  mount(
    section,
    h('p', { className: 'search-count' }, count),
    shown.length ? grid(shown, 'Your motions that match') : null,
    note ? h('p', { className: 'note' }, note) : null,
  );
  return count;
}

/**
 * Shows the account's unfinished tasks; resolves to their ids. When they are the ones shown,
 * only their times change, so focus on a task link stays where it is.
 */
async function renderRunning(section, email) {
  const running = (await listScheduler()).filter((task) => task.email === email);
  const ids = running.map((task) => task.id);
  const started = (task) => ` · started ${task.elapsed} ago`;
  if (!running.length) {
    section.replaceChildren();
    return ids;
  }
  const times = section.querySelectorAll('.running .started');
  if (section.dataset.ids === ids.join(',') && times.length === running.length) {
    running.forEach((task, i) => {
      times[i].textContent = started(task);
    });
    return ids;
  }
  section.dataset.ids = ids.join(',');
  mount(
    section,
    h('h3', {}, 'Being processed'),
    h(
      'ul',
      { className: 'running' },
      running.map((task) =>
        h('li', {}, h('a', { href: `/mine/${task.id}` }, taskName(task.id) || `Task ${task.id}`), h('span', { className: 'started' }, started(task))),
      ),
    ),
  );
  return ids;
}

export const RUNNING_REFRESH_MS = 4000;

/** The words for a task that ended without a motion, as shown in the library. */
export function failedTaskText(name, message) {
  const why = String(message || 'no reason was given').replace(/\.?$/, '.');
  return `“${name}” failed: ${why}`;
}

/** The failed uploads listed at first; the rest wait behind a button, so the motions stay in view. */
export const FAILED_SHOWN = 5;

/** When a failed task ended (its last change of status), in the reader's own words for dates. */
function endedAt(task) {
  const ms = Number(task.updateTime || task.createTime);
  if (!Number.isFinite(ms) || ms <= 0) return null;
  const when = new Date(ms);
  return h('time', { className: 'subtle', dateTime: when.toISOString() }, when.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
}

/** One failed upload: what failed and why, when, where to read and delete it, and a way to hide it. */
function failedUploadItem(envelope, onHide) {
  const id = envelope.task.id;
  const name = taskName(id) || `Task ${id}`;
  const hide = h('button', { type: 'button', className: 'link-button', 'aria-label': `Hide “${name}” from this list` }, 'Hide');
  const item = h(
    'li',
    { dataset: { taskId: String(id) } },
    h('span', { className: 'failed-what' }, failedTaskText(name, envelope.message)),
    ' ',
    endedAt(envelope.task),
    ' ',
    h('a', { href: `/mine/${id}` }, 'Read and delete it'),
    ' ',
    hide,
  );
  hide.addEventListener('click', () => onHide(item, id));
  return item;
}

/**
 * Lists the account's recent failed uploads: a task that failed while the studio was closed
 * (or in another tab) is said nowhere else, so the person would never learn of it nor delete
 * it. Those hidden in this tab are left out. Best effort, as "Being processed": resolves to the
 * ids of the failed tasks found (none when the list cannot be read), which the live notices of
 * failures then leave out.
 */
async function renderFailedUploads(section, email, stillWanted, focusAfterAll) {
  let failed;
  try {
    failed = await recentFailedTasks(email);
  } catch {
    return [];
  }
  if (!stillWanted()) return [];
  const ids = failed.map((envelope) => envelope.task.id);
  const shown = failed.filter((envelope) => !isFailedTaskHidden(envelope.task.id));
  if (!shown.length) return ids;
  const list = h('ul', { className: 'failed-uploads', 'aria-labelledby': 'failed-uploads-title' });
  const more = h('button', { type: 'button', className: 'link-button' });
  const limitShown = () => {
    more.hidden = Boolean(more.dataset.all) || list.children.length <= FAILED_SHOWN;
    [...list.children].forEach((item, i) => {
      item.hidden = !more.dataset.all && i >= FAILED_SHOWN;
    });
    more.textContent = `Show ${list.children.length - FAILED_SHOWN} more`;
  };
  const onHide = (item, id) => {
    hideFailedTask(id);
    // Focus goes on to the next failure (or the one before) instead of falling to the page.
    const next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    limitShown();
    if (next && !next.hidden) next.querySelector('button')?.focus();
    else if (!list.children.length) {
      section.replaceChildren();
      focusAfterAll();
    }
  };
  list.append(...shown.map((envelope) => failedUploadItem(envelope, onHide)));
  more.addEventListener('click', () => {
    more.dataset.all = 'true';
    limitShown();
    list.children[FAILED_SHOWN]?.querySelector('a')?.focus();
  });
  limitShown();
  mount(
    section,
    h('h3', { id: 'failed-uploads-title' }, 'Failed uploads'),
    h('p', { className: 'hint' }, 'These ended without a motion. Each stays in your account until you delete it.'),
    list,
    more,
  );
  return ids;
}

/**
 * A task that left "Being processed" either made its motion (the grid shows it) or failed, and
 * a failed one is in no list of motions: it is looked up, and a failure is said with a link to
 * the task, where its message can be read and the task deleted. Best effort: a task that cannot
 * be read (deleted meanwhile, a passing outage) is left unsaid.
 */
async function reportFailed(box, email, taskIds, stillWanted) {
  for (const id of taskIds) {
    let task;
    try {
      task = await getTask(email, id);
    } catch {
      continue;
    }
    if (!stillWanted() || !task?.status_final || task.status === 99) continue;
    const name = taskName(id) || `Task ${id}`;
    box.append(
      h(
        'p',
        { className: 'message error', role: 'alert', dataset: { taskId: String(id) } },
        failedTaskText(name, task.message),
        ' ',
        h('a', { href: `/mine/${id}` }, 'Read and delete it'),
      ),
    );
  }
}

/**
 * Keeps "Being processed" current while the page is shown; when tasks leave it (their motion
 * is made, or they failed), `onFinished(ids)` runs with their ids. Returns a function that
 * stops it.
 */
function followRunning(section, email, ids, isCurrent, onFinished) {
  let timer = null;
  let stopped = false;
  const step = async () => {
    if (stopped || !isCurrent()) return;
    let now;
    try {
      now = await renderRunning(section, email);
    } catch {
      now = ids; // The next round tries again; the motions box reports outages.
    }
    if (stopped || !isCurrent()) return;
    const left = ids.filter((id) => !now.includes(id));
    if (left.length) await onFinished(left);
    if (stopped || !isCurrent()) return;
    ids = now;
    if (ids.length) timer = setTimeout(step, RUNNING_REFRESH_MS);
  };
  if (ids.length) timer = setTimeout(step, RUNNING_REFRESH_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * The official catalog grouped by tag, with only the motions whose names match `query`;
 * returns the sentence that counts the matches of a search.
 */
function renderOfficial(section, motions, query) {
  if (!motions.length) {
    mount(section, h('p', { className: 'empty' }, 'The official catalog is empty.'));
    return 'The official catalog is empty.';
  }
  const matching = query ? motions.filter((m) => nameMatches(m.workName, query)) : motions;
  if (!matching.length) {
    mount(section, h('p', { className: 'search-count' }, 'No official motion matches.'));
    return 'No official motion matches.';
  }
  mount(
    section,
    groupByTag(matching).map(([tag, items]) =>
      h(
        'section',
        { className: 'tag-group', 'aria-labelledby': `tag-${tag || 'other'}` },
        h('h3', { id: `tag-${tag || 'other'}` }, tagTitle(tag)),
        grid(items, `${tagTitle(tag)} motions`),
      ),
    ),
  );
  return `${matching.length} official ${matching.length === 1 ? 'motion matches' : 'motions match'}.`;
}

/** How long typing may pause before the search runs (each search of your motions reads pages). */
export const SEARCH_DELAY_MS = 300;

/** The library's address for a search, or for a page when there is none. */
export function libraryHref(search, pageNum = 1) {
  if (search) return `/?q=${encodeURIComponent(search)}`;
  return pageNum > 1 ? `/?page=${pageNum}` : '/';
}

export async function libraryView(container, { query, isCurrent }) {
  const email = getEmail();
  let pageNum = Math.max(1, Number.parseInt(query.get('page') || '1', 10) || 1);
  let search = (query.get('q') || '').trim();
  let officialMotions = null;
  let officialCount = '';
  let generation = 0;
  const running = h('div', { className: 'running-box' });
  const failures = h('div', { className: 'failed-tasks' });
  const failedUploads = h('div', { className: 'failed-uploads-box' });
  const mineTitle = h('h2', { id: 'mine-title', tabIndex: -1 }, 'Your motions');
  const mine = h('div', { id: 'my-motions', 'aria-busy': 'true' }, messageBox('note', 'Loading your motions…'));
  const official = h('div', { id: 'official-motions', 'aria-busy': 'true' }, messageBox('note', 'Loading the catalog…'));
  const searchBox = h('input', {
    type: 'search',
    id: 'library-search',
    name: 'q',
    value: search,
    placeholder: 'Find a motion by name',
    autocomplete: 'off',
    spellcheck: false,
  });
  // One live region, in the page from the start, so that screen readers announce each result.
  const announcer = h('p', { className: 'visually-hidden', role: 'status' });
  const searchForm = h(
    'form',
    { role: 'search', className: 'library-search', onsubmit: (event) => event.preventDefault() },
    h('label', { for: 'library-search', className: 'visually-hidden' }, 'Find a motion by name'),
    searchBox,
    announcer,
  );
  mount(
    container,
    h('div', { className: 'page-head' }, h('h1', { tabIndex: -1 }, 'Library'), searchForm, h('a', { className: 'button primary', href: '/create' }, 'Create a motion')),
    h('section', { 'aria-labelledby': 'mine-title' }, mineTitle, failures, failedUploads, running, mine),
    h('section', { 'aria-labelledby': 'official-title' }, h('h2', { id: 'official-title' }, 'Official motions'), official),
  );
  const fill = async (target, job) => {
    try {
      await job();
    } catch (error) {
      if (isCurrent()) mount(target, messageBox('error', error.message));
    } finally {
      target.removeAttribute('aria-busy');
    }
  };
  // Each search (or page) supersedes the one before: a slower answer, or its failure, never
  // overwrites a newer one, and an abandoned walk stops reading pages.
  const showMine = async () => {
    const mineGeneration = ++generation;
    const stillWanted = () => isCurrent() && mineGeneration === generation;
    mine.setAttribute('aria-busy', 'true');
    try {
      if (!search) return await renderMine(mine, email, pageNum, stillWanted);
      const count = await renderMineSearch(mine, email, search, stillWanted);
      if (count) announcer.textContent = `${count} ${officialCount}`;
    } catch (error) {
      if (stillWanted()) mount(mine, messageBox('error', error.message));
    } finally {
      if (stillWanted()) mine.removeAttribute('aria-busy');
    }
  };
  const showOfficial = async () => {
    officialMotions ??= await listOfficialMotions(email);
    if (isCurrent()) officialCount = renderOfficial(official, officialMotions, search);
  };
  let typing = null;
  searchBox.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      const next = searchBox.value.trim();
      if (next === search || !isCurrent()) return;
      search = next;
      pageNum = 1;
      history.replaceState(history.state, '', libraryHref(search));
      announcer.textContent = '';
      if (officialMotions) officialCount = renderOfficial(official, officialMotions, search);
      showMine();
    }, SEARCH_DELAY_MS);
  });
  // "Being processed" and "Failed uploads" are extra: when they cannot be read, the motions box
  // already says why.
  const [, , runningIds, listedFailures] = await Promise.all([
    showMine(),
    fill(official, showOfficial),
    renderRunning(running, email).catch(() => []),
    renderFailedUploads(failedUploads, email, isCurrent, () => mineTitle.focus()),
  ]);
  // A task that failed between the two lists is in "Failed uploads" already: not said twice.
  const stopFollowing = followRunning(running, email, runningIds, isCurrent, (finished) =>
    Promise.all([showMine(), reportFailed(failures, email, finished.filter((id) => !listedFailures.includes(id)), isCurrent)]));
  return () => {
    clearTimeout(typing);
    stopFollowing();
    container.querySelectorAll('video').forEach((v) => v.pause());
  };
}
