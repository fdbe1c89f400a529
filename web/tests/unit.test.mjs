// Unit tests of the studio's pure modules, run in Node (no browser): the BVH preparation of
// the 3D viewer on every clip of ../shared/testdata/bvh and on synthetic ones, the upload
// checks, the error wording, the URL rewriting, the following of a task, the failed uploads
// and the search for a task whose start was not answered clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as THREE from 'three';
import { MOTIOND_BVH, bvhAxes, prepareMotion, sanitizeBvhJointNames } from '../src/viewer.js';
import { checkDuration, checkFile, nameFromFileName, roundDuration, uploadContentType } from '../src/validate.js';
import { ApiError, apiUrl, describeError, sameOriginFileUrl } from '../src/api.js';
import { failedTaskText, groupByTag, libraryHref, motionHref } from '../src/views/library.js';
import { collectMine, foldForSearch, nameMatches } from '../src/mine.js';
import { hasAccount, safeNext } from '../src/views/signin.js';
import { backoffDelay, isDefiniteFailure, pollTask } from '../src/tasks.js';
import { FAILED_LOOKBACK, failedTasks, recentFailedTasks } from '../src/failed.js';
import { CLOCK_SLACK_MS, earliestCreateTime, fileKey, findStartedTask, isIndefiniteStart, isStartedEnvelope, madeByStart } from '../src/start.js';
import { LYING, STANDING, pushUps, syntheticBvh } from './bvh-fixtures.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const BVH_DIR = join(here, '../../../shared/testdata/bvh');

function bvhFiles() {
  let names;
  try {
    names = readdirSync(BVH_DIR).filter((n) => n.endsWith('.bvh'));
  } catch (error) {
    throw new Error(`test data missing at ${BVH_DIR}: run scripts/test.sh (${error.message})`);
  }
  assert.ok(names.length >= 10, `expected the BVH clips in ${BVH_DIR}`);
  return names;
}

function worldY(bone) {
  return bone.getWorldPosition(new THREE.Vector3()).y;
}

for (const name of bvhFiles()) {
  test(`viewer stands ${name} upright on the ground`, () => {
    const text = readFileSync(join(BVH_DIR, name), 'utf8');
    const motion = prepareMotion(text);
    const frames = Number(/Frames:\s*(\d+)/.exec(text)[1]);
    const frameTime = Number(/Frame Time:\s*([\d.eE+-]+)/.exec(text)[1]);
    // three's BVHLoader times frames from 0, so the clip lasts (frames - 1) frame times.
    assert.ok(Math.abs(motion.duration - (frames - 1) * frameTime) < frameTime + 1e-6, `duration ${motion.duration}`);
    assert.ok(Math.abs(motion.bounds.min.y) < 1e-3, `lowest point ${motion.bounds.min.y} is on the ground`);

    motion.mixer.setTime(0);
    motion.figure.updateMatrixWorld(true);
    const head = motion.bones.find((b) => /head/i.test(b.name));
    const feet = motion.bones.filter((b) => /(foot|toe|ankle)/i.test(b.name));
    assert.ok(head && feet.length, 'clip names a head and feet');
    const footY = Math.min(...feet.map(worldY));
    const rise = worldY(head) - footY;
    assert.ok(rise > 1.0 && rise < 1.8, `head is ${rise.toFixed(2)} above the feet: upright, person-sized`);

    // The figure moves: some bone is elsewhere half-way through the clip.
    const start = motion.bones.map((b) => b.getWorldPosition(new THREE.Vector3()));
    motion.mixer.setTime(motion.duration / 2);
    motion.figure.updateMatrixWorld(true);
    const moved = Math.max(...motion.bones.map((b, i) => b.getWorldPosition(new THREE.Vector3()).distanceTo(start[i])));
    assert.ok(moved > 0.05, `largest bone displacement ${moved.toFixed(3)} m`);
  });
}

test("motiond's own skeleton is read as Y-up centimetres, any other has its axes estimated", () => {
  const joints = ['Hips', 'Spine', 'Spine1', 'Spine2', 'Neck', 'Head', 'LeftShoulder', 'LeftArm', 'LeftForeArm',
    'LeftHand', 'RightShoulder', 'RightArm', 'RightForeArm', 'RightHand', 'LeftUpLeg', 'LeftLeg', 'LeftFoot',
    'LeftToeBase', 'RightUpLeg', 'RightLeg', 'RightFoot', 'RightToeBase'];
  const hierarchy = joints.map((name, i) => `${'\t'.repeat(Math.min(i, 1))}${i ? 'JOINT' : 'ROOT'} ${name}\n{`).join('\n');
  const motiond = `HIERARCHY\n${hierarchy}\nMOTION\nFrames: 1\nFrame Time: 0.0333333\n`;
  assert.equal(bvhAxes(motiond), MOTIOND_BVH);
  assert.equal(bvhAxes(syntheticBvh([STANDING])), null);
  for (const name of bvhFiles()) {
    assert.equal(bvhAxes(readFileSync(join(BVH_DIR, name), 'utf8')), null, name);
  }
  assert.equal(bvhAxes('not a bvh'), null);
});

test('joint names with colons are made safe for animation bindings', () => {
  const out = sanitizeBvhJointNames('HIERARCHY\nROOT mixamorig:Hips\n{\n\tJOINT mixamorig:Spine \n\tEnd Site\n');
  assert.match(out, /ROOT mixamorigHips\n/);
  assert.match(out, /JOINT mixamorigSpine\n/);
  assert.match(out, /End Site/);
});

test('upload types: mp4 and quicktime, also by extension when the browser gives no type', () => {
  assert.equal(uploadContentType({ type: 'video/mp4', name: 'a.mp4' }), 'video/mp4');
  assert.equal(uploadContentType({ type: 'video/quicktime', name: 'a.mov' }), 'video/quicktime');
  assert.equal(uploadContentType({ type: '', name: 'clip.MOV' }), 'video/quicktime');
  assert.equal(uploadContentType({ type: '', name: 'clip.mp4' }), 'video/mp4');
  assert.equal(uploadContentType({ type: 'video/webm', name: 'a.webm' }), null);
  assert.equal(uploadContentType({ type: 'image/png', name: 'a.mp4' }), null);
});

test('file checks name the problem in plain words', () => {
  assert.deepEqual(checkFile({ type: 'video/mp4', name: 'a.mp4', size: 1000 }), []);
  const [typeProblem] = checkFile({ type: 'video/webm', name: 'a.webm', size: 1000 });
  assert.match(typeProblem, /not an MP4 or QuickTime/);
  const [sizeProblem] = checkFile({ type: 'video/mp4', name: 'big.mp4', size: 104857601 });
  assert.match(sizeProblem, /at most 100\.0 MB/);
  assert.match(checkFile({ type: 'video/mp4', name: 'e.mp4', size: 0 })[0], /empty/);
});

test('duration is rounded like the server and must be 2 to 10 s', () => {
  assert.equal(roundDuration(10.04), 10.0);
  assert.equal(roundDuration(10.05), 10.1);
  assert.equal(roundDuration(1.95), 2.0);
  assert.equal(checkDuration(10.04), null);
  assert.equal(checkDuration(2.0), null);
  assert.match(checkDuration(10.05), /10\.1 s long; it must be between 2 and 10 seconds/);
  assert.match(checkDuration(1.9), /1\.9 s long/);
  assert.match(checkDuration(Number.NaN), /could not be read/);
});

test('API errors become sentences a person can act on', () => {
  assert.match(describeError(401, { error: 'Unauthorized', code: 401 }), /token was not accepted/);
  assert.match(describeError(0), /Could not reach/);
  assert.match(
    describeError(429, { error: 'Too many jobs for account a@b.c: 2 unfinished, maxJobs 2', code: 429 }, 10),
    /^Too many jobs for account a@b\.c: 2 unfinished, maxJobs 2\. Wait for a running job to finish\. Try again in 10 s\.$/,
  );
  assert.match(describeError(429, { error: 'Too many requests', code: 429 }, 3), /too many requests\. Try again in 3 s/);
  assert.equal(
    describeError(400, { error: 'Video must be between 2 and 10 seconds long (got 12.3 s)' }),
    'Video must be between 2 and 10 seconds long (got 12.3 s).',
  );
  assert.match(describeError(404, { error: 'Sorry, the requested resource was not found (VALID.ResourceNotFound)', message: 'Not Found' }), /Upload it again/);
  assert.match(describeError(503, { error: 'Service unavailable, retry later' }), /temporarily unavailable/);
  assert.match(describeError(500, { error: 'Internal server error' }), /internal error/);
  assert.match(describeError(418, null), /HTTP 418/);
});

test('API URLs carry only the given query values', () => {
  assert.equal(apiUrl('/videos/motions', { email: 'a+b@x.y', mine: 'true', pageNum: undefined }), '/v1/kling/videos/motions?email=a%2Bb%40x.y&mine=true');
  assert.equal(apiUrl('/scheduler'), '/v1/kling/scheduler');
});

test('capability URLs are fetched from the studio origin; other URLs are kept', () => {
  const fid = 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56';
  const origin = 'http://localhost:8080';
  assert.equal(sameOriginFileUrl(`http://127.0.0.1:8080/files/${fid}/bvh.zip`, origin), `${origin}/files/${fid}/bvh.zip`);
  assert.equal(sameOriginFileUrl(`https://media.example/prefix/files/${fid}/motion.mp4`, origin), `${origin}/prefix/files/${fid}/motion.mp4`);
  assert.equal(sameOriginFileUrl(`${origin}/files/${fid}/cover.jpg`, origin), `${origin}/files/${fid}/cover.jpg`);
  const presigned = 'https://bucket.s3.example/blobs/abc?X-Amz-Signature=1';
  assert.equal(sameOriginFileUrl(presigned, origin), presigned);
});

test('official motions are grouped by tag in catalog order; links by kind', () => {
  const motions = [
    { workId: -1, tag: 'basic', workName: 'Walk', official: true },
    { workId: -2, tag: 'sport', workName: 'Boxing', official: true },
    { workId: -3, tag: 'dance', workName: 'Dance', official: true },
    { workId: -4, tag: 'basic', workName: 'Hop', official: true },
    { workId: -5, tag: 'acrobatics', workName: 'Flip', official: true },
  ];
  const groups = groupByTag(motions);
  assert.deepEqual(groups.map(([tag]) => tag), ['basic', 'dance', 'sport', 'acrobatics']);
  assert.deepEqual(groups[0][1].map((m) => m.workName), ['Walk', 'Hop']);
  assert.equal(motionHref(motions[0]), '/official/-1');
  assert.equal(motionHref({ workId: 9, taskId: 7, official: false }), '/mine/7');
});

test('after signing in, only places on the studio origin are returned to', () => {
  const origin = 'http://127.0.0.1:8080';
  const next = (value) => safeNext(new URLSearchParams(value === null ? '' : `next=${encodeURIComponent(value)}`), origin);
  assert.equal(next(null), '/');
  assert.equal(next('/mine/12?x=1#top'), '/mine/12?x=1#top');
  assert.equal(next('/create'), '/create');
  for (const away of ['//evil.example.com/x', '/\\evil.example.com/x', '/\\/evil.example.com', 'https://evil.example.com/', 'javascript:alert(1)', 'mine', '/.//evil.example.com', '/a/..//evil.example.com']) {
    assert.equal(next(away), '/', away);
  }
});

test('search folds case and accents and wants every word', () => {
  assert.equal(foldForSearch('  Café BALLET '), 'cafe ballet');
  assert.ok(nameMatches('Zombie walk (slow)', 'walk zombie'));
  assert.ok(nameMatches('Café dance', 'cafe'));
  assert.ok(nameMatches('anything', '   '), 'an empty query matches everything');
  assert.ok(!nameMatches('Zombie walk', 'zombie run'));
  assert.ok(!nameMatches(undefined, 'x'));
  assert.equal(libraryHref('tap & go'), '/?q=tap%20%26%20go');
  assert.equal(libraryHref('', 3), '/?page=3');
  assert.equal(libraryHref('', 1), '/');
});

test('the walk over your motions stops at the limit, the end of the list or 2000 motions', async () => {
  const all = Array.from({ length: 250 }, (_, i) => ({ taskId: 1000 - i, workName: i % 2 ? 'odd' : 'even' }));
  const pages = [];
  const list = async (_email, page, size) => {
    pages.push(page);
    return all.slice((page - 1) * size, page * size);
  };
  let r = await collectMine('a@b.c', (m) => m.workName === 'odd', { list });
  assert.equal(r.found.length, 125);
  assert.ok(r.complete);
  assert.deepEqual(pages, [1, 2, 3]);
  pages.length = 0;
  r = await collectMine('a@b.c', (m) => m.taskId === 999, { limit: 1, list });
  assert.deepEqual(r.found, [all[1]]);
  assert.deepEqual(pages, [1], 'stops at the first match');
  const endless = async (_email, page, size) => Array.from({ length: size }, (_, i) => ({ taskId: page * size + i }));
  r = await collectMine('a@b.c', () => false, { list: endless });
  assert.equal(r.complete, false, 'the 2000-motion budget ends the walk');
  // A later page that fails keeps what was found; a failing first page is an error.
  const flaky = async (email, page, size) => {
    if (page === 2) throw new Error('Too many requests');
    return list(email, page, size);
  };
  r = await collectMine('a@b.c', (m) => m.workName === 'odd', { list: flaky });
  assert.equal(r.found.length, 50);
  assert.equal(r.error.message, 'Too many requests');
  await assert.rejects(collectMine('a@b.c', () => true, { list: async () => Promise.reject(new Error('down')) }), /down/);
  // A search that is no longer wanted stops reading pages.
  pages.length = 0;
  let wanted = true;
  const stopping = async (email, page, size) => {
    wanted = false;
    return list(email, page, size);
  };
  await collectMine('a@b.c', () => false, { list: stopping, stillWanted: () => wanted });
  assert.deepEqual(pages, [1], 'one page, then the newer search took over');
});

/** The head's height above the lowest foot joint, and its distance from them, at time `t`. */
function headOverFeet(motion, t) {
  // At the end itself the mixer is back at frame 0.
  motion.mixer.setTime(Math.min(t, Math.max(motion.duration - 1e-4, 0)));
  motion.figure.updateMatrixWorld(true);
  const head = motion.bones.find((b) => b.name === 'Head').getWorldPosition(new THREE.Vector3());
  const feet = motion.bones.filter((b) => /Foot|Toe/.test(b.name)).map((b) => b.getWorldPosition(new THREE.Vector3()));
  return { rise: head.y - Math.min(...feet.map((p) => p.y)), length: Math.min(...feet.map((p) => p.distanceTo(head))) };
}

test('viewer: a catalog motion that starts lying down (a get-up) is stood up by the whole clip, not frame 0', () => {
  const frames = [...Array(10).fill(LYING), ...Array(30).fill(STANDING)];
  const motion = prepareMotion(syntheticBvh(frames));
  const end = headOverFeet(motion, motion.duration);
  assert.ok(end.rise > 1.2 && end.rise < 1.8, `standing at the end, head ${end.rise.toFixed(2)} above the feet`);
  const start = headOverFeet(motion, 0);
  assert.ok(Math.abs(start.rise) < 0.4, `lying at the start, head ${start.rise.toFixed(2)} above the feet`);
  assert.ok(Math.abs(motion.bounds.min.y) < 1e-3, 'on the ground');
});

test('viewer: a catalog motion that starts crouched is person-sized, not scaled up to its crouch', () => {
  const crouched = { hips: [0, 60, 0], knees: 120 };
  const frames = [...Array(10).fill(crouched), ...Array(30).fill(STANDING)];
  const start = headOverFeet(prepareMotion(syntheticBvh(frames)), 0);
  const motion = prepareMotion(syntheticBvh(frames));
  const end = headOverFeet(motion, motion.duration);
  assert.ok(end.rise > 1.3 && end.rise < 1.8, `standing, the head is ${end.rise.toFixed(2)} m above the feet`);
  assert.ok(start.rise < end.rise - 0.3, `crouched at the start (${start.rise.toFixed(2)} m)`);
});

test('viewer: a user motion (motiond BVH: Y up, centimetres) is shown as it is, even lying all along', () => {
  const motion = prepareMotion(pushUps(), MOTIOND_BVH);
  assert.equal(motion.scale, 0.01, 'centimetres to metres, not fitted to a height');
  for (const t of [0, motion.duration / 2, motion.duration]) {
    const { rise, length } = headOverFeet(motion, t);
    assert.ok(rise < 0.5, `lying at ${t.toFixed(2)} s: head ${rise.toFixed(2)} m above the feet`);
    assert.ok(Math.abs(length - 1.52) < 0.05, `the performer's own size: head ${length.toFixed(2)} m from the feet`);
  }
  assert.ok(Math.abs(motion.bounds.min.y) < 1e-3, 'on the ground');
});

test('viewer: a one-frame motion is a pose of duration 0, upright on the ground', () => {
  const pose = prepareMotion(syntheticBvh([{ hips: [3, 95, -2] }]));
  assert.equal(pose.duration, 0);
  const { rise } = headOverFeet(pose, 0);
  assert.ok(rise > 1.3 && rise < 1.8, `head ${rise.toFixed(2)} above the feet`);
  assert.ok(Math.abs(pose.bounds.min.y) < 1e-3, 'on the ground');
  // The same in motiond's own convention.
  assert.equal(prepareMotion(syntheticBvh([STANDING]), MOTIOND_BVH).duration, 0);
});

test('the name taken from a file name is cut to 100 characters without splitting an emoji', () => {
  const name = nameFromFileName(`${'a'.repeat(99)}😀😀.mp4`);
  assert.equal(name, `${'a'.repeat(99)}😀`);
  assert.equal([...name].length, 100, 'the server counts code points');
  assert.ok(name.isWellFormed(), 'no lone surrogate (the server would refuse the JSON)');
  assert.equal(nameFromFileName('🏃'.repeat(150) + '.mov'), '🏃'.repeat(100));
  assert.equal(nameFromFileName('Squats.final.mp4'), 'Squats.final');
});

test('creating an account refuses an email the user already has, in any case', () => {
  assert.ok(hasAccount(['studio@example.com'], ' Studio@Example.COM '));
  assert.ok(!hasAccount(['studio@example.com'], 'other@example.com'));
  assert.ok(!hasAccount([], 'studio@example.com'));
});

test('a failed task is said with its name and message', () => {
  assert.equal(failedTaskText('Squats', 'Task was canceled'), '“Squats” failed: Task was canceled.');
  assert.equal(
    failedTaskText('Task 7', 'No person detected in the video (MOTION.PIC_NOT_MATCHED)'),
    '“Task 7” failed: No person detected in the video (MOTION.PIC_NOT_MATCHED).',
  );
});

test('following a task: only a 4xx (other than 408 and 429) is a definite answer', () => {
  for (const status of [400, 401, 404]) assert.ok(isDefiniteFailure(new ApiError(status, 'x')), String(status));
  for (const status of [0, 408, 429, 500, 502, 503, 504]) assert.ok(!isDefiniteFailure(new ApiError(status, 'x')), String(status));
  assert.ok(!isDefiniteFailure(new TypeError('not JSON')), 'an answer that could not be read');
  assert.equal(backoffDelay(1, 1000), 1000);
  assert.equal(backoffDelay(3, 1000), 4000);
  assert.equal(backoffDelay(20, 1000), 30_000, 'capped');
  assert.equal(backoffDelay(1, 1000, 10), 10_000, 'Retry-After is honoured');
});

test('following a task survives 5xx, no connection and answers that are not a task', async () => {
  const proxyPage = new ApiError(502, describeError(502, null));
  const answers = [
    () => Promise.reject(proxyPage),
    () => Promise.reject(new ApiError(0, describeError(0))),
    () => Promise.reject(new ApiError(500, describeError(500, null))),
    () => Promise.resolve(null), // a 200 whose body was not JSON
    () => Promise.resolve({ status: 10, status_name: 'processing', status_final: false }),
    () => Promise.reject(new ApiError(503, describeError(503, null), { retryAfter: 0 })),
    () => Promise.resolve({ status: 99, status_name: 'succeed', status_final: true }),
  ];
  const updates = [];
  const outcome = await new Promise((resolve) => {
    pollTask('a@b.c', 7, {
      interval: 1,
      fetchTask: () => answers.shift()(),
      onUpdate: (task, error) => updates.push(task ? task.status_name : `no answer (${error.status ?? 'body'})`),
      onDone: (task) => resolve(['done', task.status]),
      onError: (error) => resolve(['error', error.message]),
    });
  });
  assert.deepEqual(outcome, ['done', 99]);
  assert.deepEqual(updates, ['no answer (502)', 'no answer (0)', 'no answer (500)', 'no answer (body)', 'processing', 'no answer (503)']);
});

test('following a task ends on a definite refusal', async () => {
  const gone = new ApiError(404, 'Task 7 not found.');
  const outcome = await new Promise((resolve) => {
    pollTask('a@b.c', 7, {
      interval: 1,
      fetchTask: () => Promise.reject(gone),
      onDone: () => resolve('done'),
      onError: (error) => resolve(error),
    });
  });
  assert.equal(outcome, gone);
});

/** A task envelope as GET /tasks lists it (contract §6.2), with the fields the studio reads. */
function listedTask(id, status, { createTime = 1_000_000, video = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/clip.mp4', message = '' } = {}) {
  const statusName = { 5: 'submitted', 10: 'processing', 50: 'failed', 99: 'succeed' }[status];
  return {
    task: {
      id,
      status,
      status_name: statusName,
      status_final: status >= 50,
      taskInfo: { inputs: [{ name: 'input', url: `http://127.0.0.1:8080/files/${video}`, cover: 'http://127.0.0.1:8080/files/CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC/cover.jpg' }] },
      createTime,
      updateTime: createTime + 500,
    },
    works: [],
    status,
    status_name: statusName,
    status_final: status >= 50,
    message,
  };
}

test('failed uploads: the failed tasks among the account\'s newest 50, newest first; other statuses left out', async () => {
  const history = [
    listedTask(6, 5),
    listedTask(5, 50, { message: 'No person detected in the video (MOTION.PIC_NOT_MATCHED)' }),
    listedTask(4, 99, { message: 'success' }),
    listedTask(3, 10),
    listedTask(2, 50, { message: 'Task was canceled' }),
  ];
  assert.deepEqual(failedTasks(history).map((e) => e.task.id), [5, 2]);
  const asked = [];
  const found = await recentFailedTasks('a@b.c', async (email, pageSize) => {
    asked.push([email, pageSize]);
    return history;
  });
  assert.deepEqual(asked, [['a@b.c', FAILED_LOOKBACK]]);
  assert.equal(FAILED_LOOKBACK, 50);
  assert.deepEqual(found.map((e) => [e.task.id, e.message]), [[5, 'No person detected in the video (MOTION.PIC_NOT_MATCHED)'], [2, 'Task was canceled']]);
  await assert.rejects(recentFailedTasks('a@b.c', () => Promise.reject(new ApiError(503, 'x'))), 'an outage is not "no failures"');
});

test('a start: only a 4xx with the server\'s JSON error is a definite refusal', () => {
  assert.ok(!isIndefiniteStart(new ApiError(429, 'x', { raw: { error: 'Too many jobs', code: 429 } })));
  assert.ok(!isIndefiniteStart(new ApiError(404, 'x', { raw: { error: 'Sorry (VALID.ResourceNotFound)', message: 'Not Found' } })));
  assert.ok(!isIndefiniteStart(new ApiError(400, 'x', { raw: { error: 'Parameter workName must be at most 100 characters' } })));
  for (const status of [500, 502, 503, 504]) {
    assert.ok(isIndefiniteStart(new ApiError(status, 'x', { raw: { error: 'Internal server error' } })), `${status} with JSON`);
    assert.ok(isIndefiniteStart(new ApiError(status, 'x')), `${status}, a proxy's page`);
  }
  assert.ok(isIndefiniteStart(new ApiError(0, describeError(0))), 'no connection');
  assert.ok(isIndefiniteStart(new ApiError(404, 'x')), 'a 404 page of something in between');
  assert.ok(isIndefiniteStart(new Error('The server’s answer was not a task.')), 'a 200 that is not a task');
  assert.ok(isStartedEnvelope(listedTask(7, 5)));
  assert.ok(!isStartedEnvelope(null), 'a 200 whose body was not JSON');
  assert.ok(!isStartedEnvelope({ status_final: false, task: {} }), 'no task id');
});

test('a task is the start\'s when made from the same uploaded video, after the request was sent', () => {
  const video = 'Vid0Vid1Vid2Vid3Vid4Vid5Vid6Vid7/k2j4h5g6f7.mp4';
  assert.equal(fileKey(`https://studio.example.com/motion/files/${video}?x=1`), video, 'host, prefix and query do not count');
  assert.equal(fileKey('http://127.0.0.1:8080/files/short/clip.mp4'), null);
  assert.equal(fileKey('not a url'), null);
  const sent = { resourceUrl: `http://localhost:8080/files/${video}`, notBefore: 10_000_000 };
  assert.ok(madeByStart(listedTask(1, 5, { video, createTime: 10_000_050 }), sent));
  assert.ok(madeByStart(listedTask(1, 5, { video, createTime: 10_000_000 }), sent), 'at the bound');
  assert.ok(!madeByStart(listedTask(1, 5, { video, createTime: 9_999_999 }), sent), 'made before the bound');
  assert.ok(!madeByStart(listedTask(1, 5, { createTime: 10_000_050 }), sent), 'another video');
  assert.ok(!madeByStart(listedTask(1, 5, { video: 'Vid0Vid1Vid2Vid3Vid4Vid5Vid6Vid7/other.mp4', createTime: 10_000_050 }), sent), 'another file of that upload');
  assert.ok(!madeByStart({ task: { id: 1, createTime: 10_000_050 } }, sent), 'no inputs');
});

test('a start\'s task is looked for from the earlier of the server\'s time of the upload\'s answer and the browser\'s, widely', () => {
  const hour = 3_600_000;
  assert.ok(CLOCK_SLACK_MS >= 10 * 60_000, 'clocks minutes apart');
  // The browser's clock set an hour ahead of the server's: the server's time holds.
  assert.equal(earliestCreateTime(10_000_000, 10_000_000 + hour), 10_000_000 - CLOCK_SLACK_MS);
  // An hour behind: the browser's.
  assert.equal(earliestCreateTime(10_000_000, 10_000_000 - hour), 10_000_000 - hour - CLOCK_SLACK_MS);
  assert.equal(earliestCreateTime(null, 10_000_000), 10_000_000 - CLOCK_SLACK_MS, 'no Date in the answer');
  assert.equal(earliestCreateTime(Number.NaN, 10_000_000), 10_000_000 - CLOCK_SLACK_MS, 'a Date that did not parse');
});

test('the task of a start that was not answered clearly is searched for, and searched again twice', async () => {
  const video = 'Vid0Vid1Vid2Vid3Vid4Vid5Vid6Vid7/k2j4h5g6f7.mp4';
  const sent = { resourceUrl: `http://127.0.0.1:8080/files/${video}`, notBefore: 10_000_000 };
  const other = listedTask(1, 50, { createTime: 10_000_010 });
  const mine = listedTask(2, 5, { video, createTime: 10_000_020 });
  const search = async (answers) => {
    const waits = [];
    const sizes = [];
    const result = await findStartedTask('a@b.c', sent, {
      list: async (email, pageSize) => {
        sizes.push(pageSize);
        return answers.shift()();
      },
      wait: async (ms) => waits.push(ms),
    });
    return { result, waits, sizes };
  };
  let outcome = await search([() => [mine, other]]);
  assert.equal(outcome.result.envelope, mine, 'found at once: no wait');
  assert.deepEqual(outcome.waits, []);
  assert.ok(outcome.sizes[0] >= 10, 'a page of the newest tasks');

  outcome = await search([() => [other], () => [mine, other]]);
  assert.equal(outcome.result.envelope, mine, 'found by the re-check: a server still writing it');
  assert.deepEqual(outcome.waits, [3000]);

  outcome = await search([() => [other], () => [other], () => [mine, other]]);
  assert.equal(outcome.result.envelope, mine, 'found by the last re-check, 13 s on');
  assert.deepEqual(outcome.waits, [3000, 10_000]);

  outcome = await search([() => [other], () => [other], () => [other]]);
  assert.deepEqual(outcome.result, { envelope: null }, 'not found: the start did not happen');

  const outage = new ApiError(502, describeError(502, null));
  outcome = await search([() => Promise.reject(outage), () => [other], () => [other]]);
  assert.deepEqual(outcome.result, { envelope: null }, 'the re-checks answered');
  outcome = await search([() => [other], () => [other], () => Promise.reject(outage)]);
  assert.deepEqual(outcome.result, { envelope: null, error: outage }, 'nobody can tell');
  outcome = await search([() => Promise.reject(outage), () => [mine]]);
  assert.equal(outcome.result.envelope, mine);
});
