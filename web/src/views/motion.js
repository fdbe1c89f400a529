// The motion page: the 3D viewer with its playback controls, downloads and, for the user's own
// motions, deletion. An unfinished task is polled here until its motion exists.
import { unzipSync } from 'fflate';
import { ApiError, deleteTask, fetchFileBytes, getTask, listOfficialMotions } from '../api.js';
import { collectMine } from '../mine.js';
import { h, messageBox, mount, saveBlob } from '../dom.js';
import { navigate } from '../router.js';
import { getEmail } from '../session.js';
import { MOTIOND_BVH, MotionViewer, bvhAxes, webglAvailable } from '../viewer.js';
import { pollTask } from '../tasks.js';

/** Returns the first entry of a ZIP whose name ends with `ext`, as bytes and name. */
export function zipEntry(bytes, ext) {
  const entries = unzipSync(bytes, { filter: (file) => file.name.toLowerCase().endsWith(ext) });
  const name = Object.keys(entries).sort()[0];
  if (!name) throw new Error(`The archive holds no ${ext} file.`);
  return { name: name.split('/').pop(), data: entries[name] };
}

function formatTime(t) {
  return `${t.toFixed(1)} s`;
}

/**
 * The work object has no name; the motions list has it. It is newest first, so anything just
 * made is on the first page; older motions are looked for on the next pages, up to 2000
 * motions. Best effort: without the list the motion is still shown, under a plain name.
 */
async function findMine(email, taskId) {
  const wanted = Number(taskId);
  try {
    const { found } = await collectMine(email, (m) => Number(m.taskId) === wanted, { limit: 1 });
    return found[0] || null;
  } catch {
    return null;
  }
}

/** The motion as the library shows it, whether official or the user's own. */
async function loadMotion(kind, id, email) {
  if (kind === 'official') {
    const motion = (await listOfficialMotions(email)).find((m) => String(m.workId) === id);
    return { motion: motion || null, task: null };
  }
  const task = await getTask(email, id);
  const work = task.works?.[0];
  if (!work) return { motion: null, task };
  const listed = await findMine(email, id);
  const motion = {
    workId: work.workId,
    taskId: work.taskId,
    official: false,
    workName: listed?.workName || `Motion ${work.taskId}`,
    resource: work.resource,
    cover: work.cover,
    extData: work.extData,
  };
  return { motion, task };
}

function playbackControls(viewer) {
  const play = h('button', { type: 'button', className: 'primary play', 'aria-pressed': 'false' }, 'Play');
  const scrub = h('input', { type: 'range', id: 'scrub', min: 0, max: 1000, value: 0, step: 1, 'aria-label': 'Position in the motion' });
  const readout = h('output', { for: 'scrub', className: 'time' }, '0.0 s');
  const speed = h(
    'select',
    { id: 'speed' },
    [0.25, 0.5, 1, 1.5, 2].map((s) => h('option', { value: s, selected: s === 1 }, `${s}×`)),
  );
  const check = (id, label, checked, onchange) =>
    h('label', { className: 'check', for: id }, h('input', { type: 'checkbox', id, checked, onchange: (e) => onchange(e.target.checked) }), label);

  play.addEventListener('click', () => viewer.toggle());
  scrub.addEventListener('input', () => viewer.setTime((Number(scrub.value) / 1000) * viewer.duration));
  speed.addEventListener('change', () => viewer.setSpeed(Number(speed.value)));
  viewer.hooks.onState = (playing) => {
    play.textContent = playing ? 'Pause' : 'Play';
    play.setAttribute('aria-pressed', playing ? 'true' : 'false');
  };
  viewer.hooks.onTime = (t, duration) => {
    if (document.activeElement !== scrub) scrub.value = String(duration > 0 ? Math.round((t / duration) * 1000) : 0);
    readout.textContent = `${formatTime(t)} / ${formatTime(duration)}`;
  };
  return h(
    'div',
    { className: 'controls', role: 'group', 'aria-label': 'Playback' },
    play,
    h('div', { className: 'scrub' }, scrub, readout),
    h('label', { className: 'inline', for: 'speed' }, 'Speed ', speed),
    check('loop', 'Loop', true, (v) => viewer.setLoop(v)),
    check('show-body', 'Body', true, (v) => viewer.setBodyVisible(v)),
    check('show-skeleton', 'Skeleton', true, (v) => viewer.setSkeletonVisible(v)),
    h('button', { type: 'button', onclick: () => viewer.resetCamera() }, 'Reset view'),
  );
}

function downloadButton(label, job, status) {
  const button = h('button', { type: 'button' }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await job();
    } catch (error) {
      mount(status, messageBox('error', error.message));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** A button that downloads the file at `url` as it is, saved under `fileName`. */
function fileButton(label, url, fileName, type, status, className = '') {
  const button = downloadButton(label, async () => saveBlob(await fetchFileBytes(url), fileName, type), status);
  if (className) button.classList.add(className);
  return button;
}

function downloads(motion, bvh, baseName) {
  const status = h('div');
  const bvhUrl = motion.extData?.bvh_binary;
  const binUrl = motion.extData?.output_binary;
  const preview = motion.resource?.resource;
  return h(
    'section',
    { className: 'downloads', 'aria-labelledby': 'downloads-title' },
    h('h2', { id: 'downloads-title' }, 'Download'),
    h(
      'div',
      { className: 'button-row' },
      downloadButton('BVH (.bvh)', async () => {
        const entry = await bvh();
        saveBlob(entry.data, `${baseName}.bvh`, 'text/plain');
      }, status),
      binUrl
        ? downloadButton('glTF (.glb)', async () => {
          const entry = zipEntry(await fetchFileBytes(binUrl), '.glb');
          saveBlob(entry.data, `${baseName}.glb`, 'model/gltf-binary');
        }, status)
        : null,
      // Fetched and saved here, so each file is named after the motion: the server's own
      // `Content-Disposition` name would win over a link's `download` name.
      preview ? fileButton('Preview (.mp4)', preview, `${baseName}.mp4`, 'video/mp4', status) : null,
      bvhUrl ? fileButton('bvh.zip', bvhUrl, `${baseName}-bvh.zip`, 'application/zip', status, 'subtle') : null,
      binUrl ? fileButton('binary.zip (glb + per-frame data)', binUrl, `${baseName}-binary.zip`, 'application/zip', status, 'subtle') : null,
    ),
    status,
  );
}

function deleteSection(motion, email, label) {
  const status = h('div');
  const confirmButton = h('button', { type: 'button', className: 'danger', value: 'delete' }, 'Delete');
  const cancelButton = h('button', { type: 'button', value: 'cancel' }, 'Cancel');
  const dialog = h(
    'dialog',
    { className: 'confirm', 'aria-labelledby': 'confirm-title' },
    h('h2', { id: 'confirm-title' }, 'Delete this motion?'),
    h('p', {}, `“${label}” and its files will be removed for good. This cannot be undone.`),
    h('div', { className: 'button-row' }, cancelButton, confirmButton),
  );
  cancelButton.addEventListener('click', () => dialog.close());
  confirmButton.addEventListener('click', async () => {
    confirmButton.disabled = true;
    try {
      await deleteTask(email, motion.taskId);
      dialog.close();
      navigate('/', { flash: `Deleted “${label}”.` });
    } catch (error) {
      dialog.close();
      mount(status, messageBox('error', error.message));
    } finally {
      confirmButton.disabled = false;
    }
  });
  const open = h('button', { type: 'button', className: 'danger', onclick: () => dialog.showModal() }, 'Delete motion');
  return h('section', { className: 'danger-zone', 'aria-label': 'Delete' }, open, dialog, status);
}

/** Shows an unfinished task's progress and re-renders the page when it succeeds. */
function waitForTask(container, email, taskId, task, rerender) {
  const line = messageBox('note', `This motion is still being made (${task.status_name}).`);
  mount(container, h('h1', { tabIndex: -1 }, `Task ${taskId}`), line, h('progress', { 'aria-label': 'Extracting the motion' }));
  return pollTask(email, taskId, {
    onUpdate: (t) => { line.textContent = `This motion is still being made (${t.status_name}).`; },
    onDone: (t) => {
      if (t.status === 99) rerender();
      else mount(container, h('h1', { tabIndex: -1 }, `Task ${taskId}`), messageBox('error', `The motion could not be made: ${t.message}`));
    },
    onError: (error) => mount(container, h('h1', { tabIndex: -1 }, `Task ${taskId}`), messageBox('error', error.message)),
  });
}

export async function motionView(container, ctx) {
  const { params, kind, isCurrent } = ctx;
  const [id] = params;
  const email = getEmail();
  mount(container, h('h1', { tabIndex: -1 }, 'Motion'), messageBox('note', 'Loading the motion…'));
  let loaded;
  try {
    loaded = await loadMotion(kind, id, email);
  } catch (error) {
    if (isCurrent()) mount(container, h('h1', { tabIndex: -1 }, 'Motion'), messageBox('error', error.message), h('p', {}, h('a', { href: '/' }, 'Back to the library')));
    return undefined;
  }
  if (!isCurrent()) return undefined;
  const { motion, task } = loaded;
  if (!motion && task && !task.status_final) {
    return waitForTask(container, email, id, task, () => navigate(location.pathname, { replace: true }));
  }
  if (!motion) {
    const why = task ? `The task failed: ${task.message}` : 'This motion does not exist (any more).';
    mount(container, h('h1', { tabIndex: -1 }, 'Motion'), messageBox('error', why), h('p', {}, h('a', { href: '/' }, 'Back to the library')));
    // A failed task stays in the account until it is deleted.
    if (task) container.append(deleteSection({ taskId: id }, email, `Task ${id}`));
    return undefined;
  }
  return renderMotion(container, motion, kind, email, isCurrent);
}

async function renderMotion(container, motion, kind, email, isCurrent) {
  const label = motion.workName || (kind === 'official' ? 'Official motion' : `Motion ${motion.workId}`);
  const baseName = (motion.workName || `motion-${motion.workId}`).replace(/[^A-Za-z0-9._-]+/g, '_');
  let bvhPromise = null;
  const bvh = () => {
    bvhPromise ||= fetchFileBytes(motion.extData.bvh_binary).then((bytes) => zipEntry(bytes, '.bvh'));
    bvhPromise.catch(() => { bvhPromise = null; });
    return bvhPromise;
  };
  const stage = h('div', { className: 'viewer', id: 'viewer' });
  const stageStatus = h('div', { className: 'viewer-status' }, messageBox('note', 'Loading the motion…'));
  mount(
    container,
    h('p', { className: 'crumbs' }, h('a', { href: '/' }, '← Library')),
    h('h1', { tabIndex: -1 }, label),
    h('p', { className: 'meta' }, kind === 'official' ? `Official motion${motion.tag ? ` · ${motion.tag}` : ''}` : `Your motion · task ${motion.taskId}`),
    stage,
    stageStatus,
  );
  let viewer = null;
  const extras = [downloads(motion, bvh, baseName)];
  if (kind === 'mine') extras.push(deleteSection(motion, email, label));
  if (!webglAvailable()) {
    mount(stageStatus, messageBox('error', 'This browser cannot show 3D graphics (WebGL 2 is off or missing). The downloads still work.'));
    stage.hidden = true;
    container.append(...extras);
    return undefined;
  }
  viewer = new MotionViewer(stage);
  container.insertBefore(playbackControls(viewer), stageStatus);
  container.append(...extras);
  const disableControls = (selector) => {
    container.querySelectorAll(selector).forEach((control) => {
      control.disabled = true;
    });
  };
  try {
    const entry = await bvh();
    if (!isCurrent()) return () => viewer.dispose();
    // Motions are motiond's own BVH, Y-up centimetres (contract §9.4): shown as they are.
    // Official files an older version stored (the source clip as it was) have their axes
    // estimated.
    const text = new TextDecoder().decode(entry.data);
    viewer.load(text, kind === 'mine' ? MOTIOND_BVH : bvhAxes(text));
    if (viewer.playable) {
      stageStatus.replaceChildren();
      viewer.play();
    } else {
      mount(stageStatus, messageBox('note', 'This motion is a single pose (one frame): there is nothing to play.'));
      disableControls('.controls .play, #scrub, #speed, #loop');
    }
  } catch (error) {
    // The API's failures are already plain words; anything else is a file that would not parse.
    const why = error instanceof ApiError ? error.message : 'its files could not be read (they may be damaged).';
    mount(stageStatus, messageBox('error', `The motion could not be shown: ${why}`));
    disableControls('.controls button, .controls input, .controls select');
  }
  // A flash notice ("Your motion is ready.") stays for its time: it goes away by itself.
  return () => viewer.dispose();
}
