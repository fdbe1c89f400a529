// Create: pick or drop a video, check it in the browser, upload it with progress, start the
// extraction and follow the task live until the motion opens in the viewer.
import {
  UPLOAD_CANCELLED,
  deleteTask,
  deleteUploadedAsset,
  deleteUploadedAssetById,
  findUploadedAssetId,
  startMotionUpload,
  uploadAsset,
} from '../api.js';
import { h, messageBox, mount } from '../dom.js';
import { navigate } from '../router.js';
import { getEmail, getToken, rememberTaskName } from '../session.js';
import { earliestCreateTime, findStartedTask, isIndefiniteStart, isStartedEnvelope } from '../start.js';
import { pollTask } from '../tasks.js';
import { checkDuration, checkFile, formatBytes, nameFromFileName, roundDuration, uploadContentType } from '../validate.js';

const METADATA_TIMEOUT_MS = 15000;

/** Reads a video's duration with an HTML video element; null when the browser cannot tell. */
function readDuration(video, url) {
  return new Promise((resolve) => {
    const done = (value) => {
      clearTimeout(timer);
      video.removeEventListener('loadedmetadata', onMeta);
      video.removeEventListener('error', onError);
      resolve(value);
    };
    const onMeta = () => done(Number.isFinite(video.duration) ? video.duration : null);
    const onError = () => done(null);
    const timer = setTimeout(() => done(null), METADATA_TIMEOUT_MS);
    video.addEventListener('loadedmetadata', onMeta);
    video.addEventListener('error', onError);
    video.src = url;
  });
}

/**
 * Statuses of a definite refusal after which the same upload may be started again. Answers
 * that say nothing (no connection, a 5xx) keep it too, once no task made from it is found.
 */
const RETRYABLE_START = new Set([429]);

const STATUS_WORDS = {
  submitted: 'Waiting for a free worker…',
  processing: 'Finding the person and solving the skeleton…',
};
/** Said while the server's answers say nothing about the task: it is still followed. */
const NO_ANSWER_WORDS = 'The server is not answering properly; still following the task…';

export function createView(container) {
  const email = getEmail();
  let chosen = null;
  let objectUrl = null;
  let stopPolling = null;
  // An upload, start or task of this page is under way: new files are ignored meanwhile.
  let busy = false;
  // The page was left: a running flow stops touching it and never navigates.
  let left = false;
  let uploadAbort = null;
  // The chosen file's upload, with the token that made it (signing out must not strand it)
  // and its asset id once known, until its task starts; kept after a start refused for a
  // passing reason, for a retry.
  let uploaded = null;
  let nameTyped = false;

  const input = h('input', {
    id: 'video-file',
    type: 'file',
    accept: 'video/mp4,video/quicktime,.mp4,.mov,.m4v',
    className: 'visually-hidden',
  });
  const drop = h(
    'label',
    { className: 'dropzone', for: 'video-file' },
    h('strong', {}, 'Drop a video here'),
    h('span', {}, 'or press to choose a file'),
  );
  const preview = h('video', { className: 'source-preview', muted: true, controls: true, playsInline: true, preload: 'metadata', hidden: true });
  const facts = h('p', { className: 'facts', 'aria-live': 'polite' });
  const checks = h('div', { className: 'checks' });
  const name = h('input', { id: 'work-name', type: 'text', maxLength: 100, autocomplete: 'off', placeholder: 'e.g. Squats' });
  const submit = h('button', { type: 'submit', className: 'primary', disabled: true }, 'Upload and make motion');
  // Only the state ("Uploading…", "Waiting for a free worker…") is in the live region, so a
  // screen reader announces each change of state once; the percentage, the seconds and the
  // task id beside it change all the time and are read only when the person asks.
  const progressState = h('span', { className: 'progress-state', role: 'status' });
  const progressDetail = h('span', { className: 'progress-detail' });
  const progressLabel = h('span', { id: 'progress-label' }, progressState, ' ', progressDetail);
  const progress = h('progress', { max: 1, value: 0, 'aria-labelledby': 'progress-label' });
  const cancel = h('button', { type: 'button', hidden: true }, 'Cancel');
  const stage = h('div', { className: 'stage', hidden: true }, progressLabel, progress, h('div', {}, cancel));
  const status = h('div', { className: 'form-status' });
  // The clock of a followed task: it ticks the seconds beside the state.
  let clock = null;

  /**
   * Removes the studio's copy of an upload that no task needs (best effort). With its id known
   * that is one DELETE, sent with `keepalive` so that a reload or a closed tab right after it
   * does not cut it.
   */
  function discardUpload() {
    if (!uploaded) return;
    const { asset, token, id } = uploaded;
    uploaded = null;
    const gone = id
      ? deleteUploadedAssetById(email, id, { token, keepalive: true })
      : deleteUploadedAsset(email, asset.fileName, token);
    gone.catch(() => {});
  }

  // Closing or reloading the tab runs no view cleanup: an upload kept for a retry (or not yet
  // handed to a task) is deleted on the way out.
  const onPageHide = () => discardUpload();
  window.addEventListener('pagehide', onPageHide);

  function reset() {
    chosen = null;
    submit.disabled = true;
    checks.replaceChildren();
    facts.textContent = '';
  }

  async function choose(file) {
    if (busy) return;
    if (uploaded && uploaded.file !== file) discardUpload();
    reset();
    stage.hidden = true;
    status.replaceChildren();
    if (!file) return;
    const problems = checkFile(file);
    facts.textContent = `${file.name} · ${formatBytes(file.size)}`;
    if (problems.length) {
      preview.hidden = true;
      mount(checks, problems.map((p) => messageBox('error', p)));
      return;
    }
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(file);
    preview.hidden = false;
    mount(checks, messageBox('note', 'Reading the video…'));
    const seconds = await readDuration(preview, objectUrl);
    if (seconds === null) {
      // Some browsers cannot decode every codec the server accepts; the server checks again.
      mount(checks, messageBox('note', 'This browser cannot read the video’s length; the server will check that it is 2–10 seconds long.'));
    } else {
      const problem = checkDuration(seconds);
      facts.textContent = `${file.name} · ${formatBytes(file.size)} · ${roundDuration(seconds).toFixed(1)} s`;
      if (problem) {
        mount(checks, messageBox('error', problem));
        return;
      }
      mount(checks, messageBox('ok', 'The video looks good.'));
    }
    chosen = file;
    submit.disabled = false;
    if (!nameTyped) name.value = nameFromFileName(file.name);
  }

  name.addEventListener('input', () => {
    nameTyped = name.value !== '';
  });

  input.addEventListener('change', () => choose(input.files?.[0]));
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    if (!busy) drop.classList.add('dragging');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('dragging');
    const file = event.dataTransfer?.files?.[0];
    if (file) choose(file);
  });

  function fail(text, kind = 'error', ...extra) {
    busy = false;
    clearInterval(clock);
    cancel.hidden = true;
    mount(status, messageBox(kind, text), ...extra);
    stage.hidden = true;
    progressState.textContent = '';
    submit.disabled = !chosen;
    input.disabled = false;
  }

  /** Shows the state (announced when it changes) and the detail beside it (never announced). */
  function showStage(state, detail = '') {
    stage.hidden = false;
    // Writing the same text again would be announced again by some screen readers.
    if (progressState.textContent !== state) progressState.textContent = state;
    progressDetail.textContent = detail;
  }

  /**
   * Uploads the chosen file, or reuses its upload from a start that was refused. Resolves to
   * the upload's answer and the server's time of it (see `uploadAsset`).
   */
  async function upload(file) {
    if (uploaded?.file === file) return uploaded.answer;
    progress.max = 1;
    progress.value = 0;
    showStage('Uploading…', '0 %');
    uploadAbort = new AbortController();
    cancel.hidden = false;
    cancel.onclick = () => uploadAbort?.abort();
    const token = getToken();
    let answer;
    try {
      answer = await uploadAsset(file, uploadContentType(file), email, (fraction) => {
        progress.value = fraction;
        showStage('Uploading…', `${Math.round(fraction * 100)} %`);
      }, { signal: uploadAbort.signal });
    } finally {
      uploadAbort = null;
      cancel.hidden = true;
    }
    const kept = { file, asset: answer.asset, answer, token, id: null };
    uploaded = kept;
    // The upload answers no id. Looking it up now makes every later discard one DELETE,
    // which survives a reload; a lookup and a delete after it would be cut after the lookup.
    kept.id = await findUploadedAssetId(email, answer.asset.fileName, token).catch(() => null);
    return answer;
  }

  async function run(event) {
    event.preventDefault();
    if (!chosen || busy) return;
    busy = true;
    submit.disabled = true;
    input.disabled = true;
    status.replaceChildren();
    let asset;
    let answeredAt;
    try {
      ({ asset, answeredAt } = await upload(chosen));
    } catch (error) {
      if (left) return;
      if (error.message === UPLOAD_CANCELLED) fail('Cancelled: the upload was stopped and nothing was kept.', 'note');
      else fail(`The upload failed. ${error.message}`);
      return;
    }
    if (left) {
      discardUpload();
      return;
    }
    showStage('Starting the extraction…');
    progress.removeAttribute('value');
    const workName = name.value.trim();
    const notBefore = earliestCreateTime(answeredAt, Date.now());
    let envelope;
    try {
      envelope = await startMotionUpload(email, { resourceUrl: asset.resourceUrl, coverUrl: asset.coverUrl, workName });
      // A 200 whose body is not a task (a proxy's page) says no more than a 502.
      if (!isStartedEnvelope(envelope)) throw new Error('The server’s answer was not a task.');
    } catch (error) {
      if (isIndefiniteStart(error)) {
        await startUnclear(error, { resourceUrl: asset.resourceUrl, notBefore }, workName);
        return;
      }
      // Kept for a retry with the same file only when the refusal passes (a 429 says to wait
      // for a running job); a 400 or 404 would refuse the same upload again.
      if (left || !RETRYABLE_START.has(error.status)) discardUpload();
      if (!left) fail(`The extraction could not start. ${error.message}`);
      return;
    }
    followStarted(envelope, workName);
  }

  /** A task is running for the chosen upload: it is followed, and the upload can go. */
  function followStarted(envelope, workName) {
    rememberTaskName(envelope.task.id, workName);
    // The task keeps its own copies of what it needs (contract §4.3): the upload can go.
    discardUpload();
    if (!left) follow(envelope);
  }

  /**
   * The start's answer said nothing (no connection, a 5xx, a page that is not JSON), yet the
   * server may have made the task. It is looked for before anything is said: found, it is
   * followed as if the start had answered; not found, the person is told the start probably
   * did not happen and may retry with the same upload, which is kept.
   */
  async function startUnclear(error, sent, workName) {
    showStage('No clear answer: checking whether the extraction started…');
    const { envelope, error: lookupError } = await findStartedTask(email, sent, { stillWanted: () => !left });
    if (envelope) {
      followStarted(envelope, workName);
      return;
    }
    if (left) {
      discardUpload();
      return;
    }
    const retry = h('button', { type: 'button', className: 'primary', onclick: () => form.requestSubmit() }, 'Try again');
    if (lookupError) {
      fail(
        `The extraction may or may not have started. ${error.message} Whether the server made the task could not be checked: look under “Being processed” in the library before trying again, or the motion may be made twice.`,
        'error',
        h('div', { className: 'button-row' }, h('a', { className: 'button', href: '/' }, 'Open the library'), retry),
      );
      return;
    }
    fail(
      `The extraction may not have started. ${error.message} No task made from this video was found: try again (the video is not uploaded again).`,
      'error',
      h('div', { className: 'button-row' }, retry),
    );
  }

  /**
   * Follows the started task live until its motion opens, or says why it did not. Answers that
   * say nothing about the task (a proxy's 502, no connection) never end the following: the
   * task runs on, so the page keeps showing it and keeps the upload button off.
   */
  function follow(envelope) {
    const taskId = envelope.task.id;
    const started = Date.now();
    let words = STATUS_WORDS[envelope.status_name] || envelope.status_name;
    // How the following ended (a final state or a refusal) while a cancel was under way: it
    // waits for the cancel's answer.
    let cancelling = false;
    let ending = null;
    const show = () => {
      const seconds = Math.round((Date.now() - started) / 1000);
      showStage(words, `(${seconds} s, task ${taskId})`);
    };
    const finish = ({ task, error }) => {
      if (left) return;
      if (error) fail(error.message);
      else if (task.status === 99) navigate(`/mine/${taskId}`, { flash: 'Your motion is ready.' });
      else fail(`The motion could not be made: ${task.message}`);
    };
    const end = (how) => {
      clearInterval(clock);
      if (cancelling) ending = how;
      else finish(how);
    };
    cancel.hidden = false;
    cancel.onclick = async () => {
      // Deleting an unfinished task cancels it (contract §6.6). The task is followed until the
      // server says it is gone: a cancel that fails leaves it running.
      cancelling = true;
      cancel.disabled = true;
      status.replaceChildren();
      try {
        await deleteTask(email, taskId);
        stopPolling?.();
        fail('Cancelled: the extraction was stopped and nothing was kept.', 'note');
      } catch (error) {
        cancelling = false;
        if (ending) {
          finish(ending);
          return;
        }
        mount(status, messageBox('error', `Cancelling failed: ${error.message} The extraction goes on and is still followed here.`));
      } finally {
        cancel.disabled = false;
      }
    };
    show();
    clock = setInterval(show, 1000);
    stopPolling = pollTask(email, taskId, {
      onUpdate: (task) => {
        words = task ? STATUS_WORDS[task.status_name] || task.status_name : NO_ANSWER_WORDS;
        show();
      },
      onDone: (task) => end({ task }),
      onError: (error) => end({ error }),
    });
  }

  const form = h(
    'form',
    { className: 'create-form', noValidate: true, onsubmit: run },
    input,
    drop,
    h('p', { className: 'hint' }, 'MP4 or MOV, 2 to 10 seconds long, at most 100 MB, with one person in full view.'),
    preview,
    facts,
    checks,
    h('label', { for: 'work-name' }, 'Name (optional)'),
    name,
    submit,
    stage,
    status,
  );
  mount(
    container,
    h('p', { className: 'crumbs' }, h('a', { href: '/' }, '← Library')),
    h('h1', { tabIndex: -1 }, 'Create a motion'),
    h('p', { className: 'lead' }, 'Turn a short video of a person into a 3D motion (BVH and glTF).'),
    form,
  );
  return () => {
    left = true;
    window.removeEventListener('pagehide', onPageHide);
    clearInterval(clock);
    stopPolling?.();
    uploadAbort?.abort();
    // A flow under way removes its own upload once it sees that the page was left.
    if (!busy) discardUpload();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    preview.removeAttribute('src');
  };
}
