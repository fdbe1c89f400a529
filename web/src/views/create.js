// Create: pick or drop a video, check it in the browser, upload it with progress, start the
// extraction and follow the task live until the motion opens in the viewer.
import { deleteTask, startMotionUpload, uploadAsset } from '../api.js';
import { h, messageBox, mount } from '../dom.js';
import { navigate } from '../router.js';
import { getEmail } from '../session.js';
import { pollTask } from '../tasks.js';
import { checkDuration, checkFile, formatBytes, roundDuration, uploadContentType } from '../validate.js';

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

const STATUS_WORDS = {
  submitted: 'Waiting for a free worker…',
  processing: 'Finding the person and solving the skeleton…',
};

export function createView(container) {
  const email = getEmail();
  let chosen = null;
  let objectUrl = null;
  let stopPolling = null;
  let uploading = null;

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
  const progressLabel = h('span', { id: 'progress-label' });
  const progress = h('progress', { max: 1, value: 0, 'aria-labelledby': 'progress-label' });
  const cancel = h('button', { type: 'button', hidden: true }, 'Cancel');
  const stage = h('div', { className: 'stage', hidden: true, 'aria-live': 'polite' }, progressLabel, progress, h('div', {}, cancel));
  const status = h('div', { className: 'form-status' });

  function reset() {
    chosen = null;
    submit.disabled = true;
    checks.replaceChildren();
    facts.textContent = '';
  }

  async function choose(file) {
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
    if (!name.value) name.value = file.name.replace(/\.[^.]+$/, '').slice(0, 100);
  }

  input.addEventListener('change', () => choose(input.files?.[0]));
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('dragging');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('dragging');
    const file = event.dataTransfer?.files?.[0];
    if (file) choose(file);
  });

  function fail(text, kind = 'error') {
    cancel.hidden = true;
    mount(status, messageBox(kind, text));
    stage.hidden = true;
    submit.disabled = !chosen;
    input.disabled = false;
  }

  async function run(event) {
    event.preventDefault();
    if (!chosen) return;
    submit.disabled = true;
    input.disabled = true;
    status.replaceChildren();
    stage.hidden = false;
    progress.max = 1;
    progress.value = 0;
    progressLabel.textContent = 'Uploading… 0 %';
    let asset;
    try {
      uploading = uploadAsset(chosen, uploadContentType(chosen), email, (fraction) => {
        progress.value = fraction;
        progressLabel.textContent = `Uploading… ${Math.round(fraction * 100)} %`;
      });
      asset = await uploading;
    } catch (error) {
      fail(`The upload failed. ${error.message}`);
      return;
    }
    progressLabel.textContent = 'Starting the extraction…';
    progress.removeAttribute('value');
    let envelope;
    try {
      envelope = await startMotionUpload(email, {
        resourceUrl: asset.resourceUrl,
        coverUrl: asset.coverUrl,
        workName: name.value.trim(),
      });
    } catch (error) {
      fail(`The extraction could not start. ${error.message}`);
      return;
    }
    const taskId = envelope.task.id;
    const started = Date.now();
    cancel.hidden = false;
    cancel.onclick = async () => {
      // Deleting an unfinished task cancels it (contract §6.6).
      stopPolling?.();
      cancel.disabled = true;
      try {
        await deleteTask(email, taskId);
        fail('Cancelled: the extraction was stopped and nothing was kept.', 'note');
      } catch (error) {
        fail(`Cancelling failed. ${error.message}`);
      } finally {
        cancel.disabled = false;
      }
    };
    const tick = (task) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      const words = task ? STATUS_WORDS[task.status_name] || task.status_name : 'Waiting for the server…';
      progressLabel.textContent = `${words} (${seconds} s, task ${taskId})`;
    };
    tick(envelope);
    stopPolling = pollTask(email, taskId, {
      onUpdate: tick,
      onDone: (task) => {
        if (task.status === 99) {
          navigate(`/mine/${taskId}`, { flash: 'Your motion is ready.' });
        } else {
          fail(`The motion could not be made: ${task.message}`);
        }
      },
      onError: (error) => fail(error.message),
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
    stopPolling?.();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    preview.removeAttribute('src');
  };
}
