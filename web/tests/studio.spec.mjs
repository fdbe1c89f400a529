// Browser tests of the web studio against the REAL motiond binary: one `motiond serve` on
// 127.0.0.1:0 with a temporary data directory, real models, real ffmpeg, Debian's chromium.
// Run with `npm test` in web/ after `cargo build -p motiond` (scripts/test.sh does both).
//
// The whole walk (flow.mjs) comes last. Before it, one test per thing the studio must get
// right in a corner, each as its own user. Where a test needs the server to misbehave (a
// proxy's 502, a 429, a task that never ends) it answers those requests in the browser with
// `page.route`, as a proxy in front of the server would; everything else is the real server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strToU8, zipSync } from 'fflate';
import { CHROMIUM, launchBrowser, runStudioFlow, waitForViewer, watchConsole } from './flow.mjs';
import { pushUps } from './bvh-fixtures.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '../..');
const SETUP = 'run scripts/test.sh (it runs scripts/setup.sh)';
const MOTIOND = process.env.MOTIOND_BIN || join(REPO, 'target/debug/motiond');
const MODELS = process.env.MOTIOND_MODELS_DIR || join(REPO, '.data/models');
const TESTDATA = resolve(REPO, '../shared/testdata');
const SQUATS = join(TESTDATA, 'videos/tfjs_pose_squats.mp4');
const ARTIFACTS = join(REPO, 'test-artifacts/studio');
const START_TIMEOUT_MS = 120_000;
const CATALOG_TIMEOUT_MS = 600_000;
const STEP_TIMEOUT_MS = 30_000;
/** An official motion of one frame, imported besides the catalog (`motiond motions import` takes one). */
const POSE_NAME = 'Static pose';

function requirePrerequisites() {
  const missing = [];
  if (!existsSync(MOTIOND)) missing.push(`motiond binary at ${MOTIOND} (cargo build -p motiond)`);
  if (!existsSync(CHROMIUM)) missing.push(`chromium at ${CHROMIUM} (apt-get install chromium)`);
  if (!existsSync(join(MODELS, 'pose_detection.onnx'))) missing.push(`models in ${MODELS} (motiond models fetch --data-dir .data)`);
  if (!existsSync(SQUATS)) missing.push(`test video ${SQUATS}`);
  if (spawnSync('ffmpeg', ['-version']).status !== 0) missing.push('ffmpeg on PATH');
  assert.deepEqual(missing, [], `missing: ${missing.join('; ')}: ${SETUP}`);
}

/** The catalog the server seeds on first start: the names in catalog/catalog.toml. */
function catalogNames() {
  const toml = readFileSync(join(REPO, 'catalog/catalog.toml'), 'utf8');
  return [...toml.matchAll(/^\[\[motion\]\][^[]*?^name\s*=\s*"([^"]+)"/gms)].map((m) => m[1]);
}

function run(args, env) {
  const result = spawnSync(MOTIOND, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.status, 0, `motiond ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** Starts `motiond serve` and resolves with its base URL once it prints `listening on`. */
function startServer(dataDir, env, logFile) {
  const child = spawn(MOTIOND, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk) => {
    log += chunk;
    writeFileSync(logFile, log);
  };
  child.stderr.setEncoding('utf8').on('data', keep);
  const address = new Promise((resolveAddr, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`motiond serve printed no "listening on" line within ${START_TIMEOUT_MS} ms:\n${log}`)), START_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      keep(chunk);
      out += chunk;
      const match = out.match(/listening on (?:https?:\/\/)?(\S+)/);
      if (match) {
        clearTimeout(timer);
        resolveAddr(`http://${match[1].replace(/\/$/, '')}`);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`motiond serve exited with ${code} before listening:\n${log}`));
    });
  });
  return { child, address };
}

async function api(baseUrl, token, method, path, body) {
  const response = await fetch(`${baseUrl}/v1/kling${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** A static pose: the first frame of a catalog clip, as a BVH of one frame. */
function onePoseBvh() {
  const text = readFileSync(join(REPO, 'catalog/bvh/cmu_131_02_walk.bvh'), 'utf8').replace(/\r\n/g, '\n');
  const [hierarchy, motion] = text.split(/^MOTION\n/m);
  const firstFrame = motion.split('\n')[2];
  return `${hierarchy}MOTION\nFrames: 1\nFrame Time: 0.0333333\n${firstFrame}\n`;
}

/** Waits, with a deadline, until the catalog is seeded (it is rendered on first start). */
async function waitForCatalog(baseUrl, probeToken, expected) {
  const created = await api(baseUrl, probeToken, 'POST', '/accounts', { email: 'probe@example.com', maxJobs: 1 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const deadline = Date.now() + CATALOG_TIMEOUT_MS;
  let last = null;
  while (Date.now() < deadline) {
    last = await api(baseUrl, probeToken, 'GET', '/videos/motions');
    if (last.status === 200 && last.body.length >= expected) return last.body;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.fail(`the catalog was not seeded in time: ${JSON.stringify(last)}`);
}

/** Polls `check` until it is true, or fails with `what`. */
async function waitUntil(check, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`timed out: ${what}`);
}

/** A task envelope (contract §6.2) with the fields the studio reads, for tasks the test makes up. */
function fakeEnvelope(id, statusName = 'submitted', { works = [], message = '' } = {}) {
  const status = { submitted: 5, processing: 10, failed: 50, succeed: 99 }[statusName];
  const final = status >= 50;
  return {
    task: { id, status, status_name: statusName, status_final: final },
    works,
    status,
    status_name: statusName,
    status_final: final,
    message,
  };
}

/** What a proxy in front of the server answers when the server is away: not JSON. */
const PROXY_PAGES = [
  { status: 502, contentType: 'text/html', body: '<html><body><h1>502 Bad Gateway</h1></body></html>' },
  { status: 500, contentType: 'text/plain', body: 'Internal Server Error' },
  { status: 200, contentType: 'text/html', body: '<html><body>Please sign in to the network</body></html>' },
];

const isPath = (pathname) => (url) => url.pathname === pathname;

describe('web studio against the real motiond', { timeout: 2_400_000 }, () => {
  /** Filled by `before`: the server, its users' tokens and the catalog. */
  const env = {
    MOTIOND_LIMITS__TOKEN_RPS: '0',
    MOTIOND_LOG: process.env.MOTIOND_LOG || 'info',
  };
  let dataDir;
  let server;
  let baseUrl;
  let tokens;
  let names;
  let catalog;
  let squats8;
  let browser;

  before(async () => {
    requirePrerequisites();
    env.MOTIOND_MODELS_DIR = MODELS;
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'motiond-studio-'));
    // One user per test, so that no test sees another's accounts, uploads or tasks.
    const users = ['studio-e2e', 'catalog-probe', 'accounts-e2e', 'follow-e2e', 'uploads-e2e', 'failed-e2e', 'closed-e2e', 'unclear-e2e', 'viewer-e2e'];
    tokens = Object.fromEntries(users.map((user) => [user, run(['token', 'create', '--user', user, '--data-dir', dataDir], env)]));
    assert.match(tokens['studio-e2e'], /^mtd_[A-Za-z0-9_-]{43}$/);
    const posePath = join(dataDir, 'pose.bvh');
    writeFileSync(posePath, onePoseBvh());
    run(['motions', 'import', '--data-dir', dataDir, '--name', POSE_NAME, '--tag', 'gesture', posePath], env);

    // The test video is 13 s long; the studio takes 2-10 s, so the test cuts 8 s of it.
    squats8 = join(dataDir, 'squats-8s.mp4');
    const cut = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', SQUATS, '-t', '8', '-an', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', squats8]);
    assert.equal(cut.status, 0, `ffmpeg could not cut the test video: ${cut.stderr}`);

    server = startServer(dataDir, env, join(ARTIFACTS, 'server.log'));
    baseUrl = await server.address;
    names = catalogNames();
    assert.ok(names.length >= 5, `catalog/catalog.toml lists ${names.length} motions`);
    catalog = await waitForCatalog(baseUrl, tokens['catalog-probe'], names.length + 1);
    assert.deepEqual(catalog.map((m) => m.workName).sort(), [...names, POSE_NAME].sort(), 'the server seeded exactly the catalog');
    browser = await launchBrowser();
  }, { timeout: CATALOG_TIMEOUT_MS + 300_000 });

  after(async () => {
    await browser?.close();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await new Promise((r) => {
        const timer = setTimeout(() => {
          server.child.kill('SIGKILL');
          r();
        }, 15_000);
        server.child.on('exit', () => {
          clearTimeout(timer);
          r();
        });
      });
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Creates (or sets again) an account of `user` through the API. */
  async function createAccount(user, email, extra = {}) {
    const created = await api(baseUrl, tokens[user], 'POST', '/accounts', { email, maxJobs: 2, ...extra });
    assert.ok([200, 201].includes(created.status), JSON.stringify(created.body));
  }

  /** The names of the videos `user` has uploaded to `email` and not deleted. */
  async function uploadedNames(user, email) {
    const listed = await api(baseUrl, tokens[user], 'GET', `/assets/uploaded?email=${encodeURIComponent(email)}`);
    assert.equal(listed.status, 200);
    return listed.body.uploadAssetsList.map((a) => a.name);
  }

  /** The ids of `user`'s tasks on `email`, newest first (contract §6.5). */
  async function taskIds(user, email) {
    const listed = await api(baseUrl, tokens[user], 'GET', `/tasks?email=${encodeURIComponent(email)}`);
    assert.equal(listed.status, 200);
    return listed.body.history.map((envelope) => envelope.task.id);
  }

  /** Starts an extraction of the test video through the API, as a script would; resolves to its task id. */
  async function startThroughApi(user, email) {
    const uploaded = await fetch(`${baseUrl}/v1/kling/assets?email=${encodeURIComponent(email)}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens[user]}`, 'Content-Type': 'video/mp4' },
      body: readFileSync(squats8),
    });
    const asset = await uploaded.json();
    assert.equal(uploaded.status, 200, JSON.stringify(asset));
    const started = await api(baseUrl, tokens[user], 'POST', '/videos/motion-upload', { email, resourceUrl: asset.resourceUrl, coverUrl: asset.coverUrl });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    return started.body.task.id;
  }

  /**
   * A new tab signed in as `user` (the token, and the account when given, are put in the
   * tab's sessionStorage as signing in does), showing `path` (none: nothing is loaded yet).
   * `init` runs first in each page.
   */
  async function openStudio(user, { email = null, path = '/', init = null, clockAheadMs = 0 } = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    // A browser whose clock is set off the server's; its time goes on from there.
    if (clockAheadMs) await context.clock.install({ time: Date.now() + clockAheadMs });
    await context.addInitScript(({ token, account }) => {
      try {
        if (!sessionStorage.getItem('motiond.token')) {
          sessionStorage.setItem('motiond.token', token);
          if (account) sessionStorage.setItem('motiond.email', account);
        }
      } catch {
        // about:blank has no storage.
      }
    }, { token: tokens[user], account: email });
    if (init) await context.addInitScript(init);
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const console_ = watchConsole(page);
    if (path) await page.goto(`${baseUrl}${path}`);
    return { context, page, console_ };
  }

  /** Chooses the test video in the create page, under `fileName`, and waits for the check. */
  async function chooseVideo(page, fileName = 'squats.mp4') {
    await page.locator('#video-file').setInputFiles({ name: fileName, mimeType: 'video/mp4', buffer: readFileSync(squats8) });
    await page.getByText('The video looks good.').waitFor();
  }

  /**
   * The box, in canvas pixels, around what the 3D view draws of the figure: the saturated
   * body and skeleton colours and the white joints, not the grey grid on the dark ground nor
   * the page behind the canvas's rounded corners.
   */
  async function figureBox(page, name) {
    const png = await page.locator('canvas.viewer-canvas').screenshot({ path: join(ARTIFACTS, `${name}.png`) });
    const scratch = await page.context().newPage();
    try {
      return await scratch.evaluate(async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const g = canvas.getContext('2d');
        g.drawImage(bitmap, 0, 0);
        const { data, width, height } = g.getImageData(0, 0, bitmap.width, bitmap.height);
        let [minX, minY, maxX, maxY, count] = [width, height, -1, -1, 0];
        const corner = 16;
        for (let y = corner; y < height - corner; y += 1) {
          for (let x = corner; x < width - corner; x += 1) {
            const i = (y * width + x) * 4;
            const hi = Math.max(data[i], data[i + 1], data[i + 2]);
            const lo = Math.min(data[i], data[i + 1], data[i + 2]);
            if (hi - lo <= 80 && lo <= 200) continue;
            count += 1;
            minX = Math.min(minX, x);
            maxX = Math.max(maxX, x);
            minY = Math.min(minY, y);
            maxY = Math.max(maxY, y);
          }
        }
        return { count, width: maxX - minX + 1, height: maxY - minY + 1 };
      }, png.toString('base64'));
    } finally {
      await scratch.close();
    }
  }

  test('account: "Create account" with an email the user has is refused, not overwritten', async () => {
    const email = 'keep@example.com';
    await createAccount('accounts-e2e', email, { maxJobs: 7, replyUrl: 'https://hooks.example.com/motion' });
    const { context, page, console_ } = await openStudio('accounts-e2e', { path: '/account' });
    try {
      let posted = 0;
      page.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/v1/kling/accounts') posted += 1;
      });
      await page.getByRole('list', { name: 'Your accounts' }).getByRole('button', { name: email }).waitFor();
      await page.getByLabel('Account email').fill('Keep@Example.com');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('alert').filter({ hasText: 'That account already exists' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/account', 'the page stays');
      assert.equal(posted, 0, 'nothing was sent that would replace the account');
      const account = await api(baseUrl, tokens['accounts-e2e'], 'GET', `/accounts/${email}`);
      assert.equal(account.body.maxJobs, 7, 'the job limit is kept');
      assert.equal(account.body.replyUrl, 'https://hooks.example.com/motion', 'the webhook address is kept');
      // A new email is still created.
      await page.getByLabel('Account email').fill('second@example.com');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL((url) => url.pathname === '/');
      await page.getByText('Account second@example.com is ready.').waitFor();
      console_.assertClean('account');
    } finally {
      await context.close();
    }
  });

  /**
   * The create page of `user` with a made-up task: its start is answered with task `taskId`
   * (no extraction runs) and GET /tasks/{taskId} with `answers.poll()`, DELETE with
   * `answers.remove()`; `answers.polls` counts the polls. The chosen video is uploaded for real.
   */
  async function createWithMadeUpTask(user, email, taskId, answers) {
    await createAccount(user, email);
    const opened = await openStudio(user, { email, path: '/create' });
    answers.polls = 0;
    await opened.page.route(isPath(`/v1/kling/tasks/${taskId}`), (route, request) => {
      if (request.method() === 'DELETE') return route.fulfill(answers.remove());
      answers.polls += 1;
      return route.fulfill(answers.poll());
    });
    await opened.page.route(isPath('/v1/kling/videos/motion-upload'), (route, request) => {
      answers.started = JSON.parse(request.postData());
      return route.fulfill({ json: fakeEnvelope(taskId) });
    });
    return opened;
  }

  test('create: a proxy\'s 5xx or HTML answers, and a cancel that fails, never drop the task being followed', async (t) => {
    const taskId = 4_000_000_000_001;
    let proxy = false;
    let proxyPages = 0;
    const deletes = [PROXY_PAGES[0], { json: { deleted: 0, workIds: [] } }];
    const answers = {
      poll: () => (proxy ? PROXY_PAGES[proxyPages++ % PROXY_PAGES.length] : { json: fakeEnvelope(taskId) }),
      remove: () => deletes.shift(),
    };
    const { context, page, console_ } = await createWithMadeUpTask('follow-e2e', 'follow@example.com', taskId, answers);
    try {
      console_.allow(/status of 50[02]/);
      await chooseVideo(page);
      const label = page.locator('#progress-label');
      const submit = page.getByRole('button', { name: 'Upload and make motion' });
      await submit.click();
      await label.filter({ hasText: `task ${taskId}` }).waitFor();

      t.diagnostic('a proxy answers 502, 500 and an HTML page: the task is still followed');
      proxy = true;
      await waitUntil(() => proxyPages >= 3, 'three answers from the proxy');
      assert.ok(await label.isVisible(), 'the progress stays');
      assert.match(await label.textContent(), new RegExp(`task ${taskId}`));
      assert.ok(await submit.isDisabled(), 'no second task can be started meanwhile');
      assert.equal(await page.locator('.create-form [role=alert]').count(), 0, 'no failure is said');
      await label.filter({ hasText: 'not answering' }).waitFor();
      proxy = false;
      await label.filter({ hasText: 'Waiting for a free worker' }).waitFor();

      t.diagnostic('a cancel that fails leaves the task followed');
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByRole('alert').filter({ hasText: 'Cancelling failed' }).waitFor();
      assert.ok(await label.isVisible(), 'the progress stays after the failed cancel');
      assert.ok(await submit.isDisabled(), 'and the upload button stays off');
      const pollsAfterFailure = answers.polls;
      await waitUntil(() => answers.polls >= pollsAfterFailure + 2, 'the task is still polled');
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByText('Cancelled: the extraction was stopped and nothing was kept.').waitFor();
      const pollsAfterCancel = answers.polls;
      await page.waitForTimeout(2500);
      assert.equal(answers.polls, pollsAfterCancel, 'a cancelled task is no longer polled');
      console_.assertClean('follow');
    } finally {
      await context.close();
    }
  });

  test('create: only changes of state are announced, not the seconds ticking', async () => {
    const taskId = 4_000_000_000_002;
    const answers = { poll: () => ({ json: fakeEnvelope(taskId) }) };
    const { context, page, console_ } = await createWithMadeUpTask('follow-e2e', 'follow@example.com', taskId, answers);
    try {
      await chooseVideo(page);
      // Every change of text inside a live region of the form is what a screen reader says.
      await page.evaluate(() => {
        const form = document.querySelector('.create-form');
        const regionOf = (node) => (node.nodeType === 1 ? node : node.parentElement)?.closest('[aria-live], [role=status], [role=alert]');
        window.announced = [];
        new MutationObserver((records) => {
          for (const record of records) {
            const region = regionOf(record.target);
            if (region && form.contains(region)) window.announced.push(region.textContent.trim());
          }
        }).observe(form, { subtree: true, childList: true, characterData: true });
      });
      const label = page.locator('#progress-label');
      await page.getByRole('button', { name: 'Upload and make motion' }).click();
      await label.filter({ hasText: `task ${taskId}` }).waitFor();
      const before = await label.textContent();
      await page.evaluate(() => { window.announced = []; });
      await page.waitForTimeout(3500);
      assert.notEqual(await label.textContent(), before, 'the seconds shown go on');
      const announced = await page.evaluate(() => window.announced);
      assert.deepEqual(announced.filter((text) => /\d+ s\b/.test(text)), [], `the seconds are not announced: ${announced.join(' | ')}`);
      assert.ok(new Set(announced).size <= 1, `the unchanged state is not announced again and again: ${announced.join(' | ')}`);
      console_.assertClean('live region');
    } finally {
      await context.close();
    }
  });

  test('create: a name taken from the file name is cut by characters, never inside an emoji', async () => {
    const taskId = 4_000_000_000_003;
    const answers = { poll: () => ({ json: fakeEnvelope(taskId) }) };
    const { context, page, console_ } = await createWithMadeUpTask('follow-e2e', 'follow@example.com', taskId, answers);
    try {
      await chooseVideo(page, `${'a'.repeat(99)}😀😀.mp4`);
      assert.equal(await page.getByLabel('Name (optional)').inputValue(), `${'a'.repeat(99)}😀`);
      await page.getByRole('button', { name: 'Upload and make motion' }).click();
      await page.locator('#progress-label').filter({ hasText: `task ${taskId}` }).waitFor();
      const { workName } = answers.started;
      assert.ok(workName.isWellFormed(), 'no half emoji: the server would refuse the body');
      assert.equal([...workName].length, 100, 'as long as the server takes');
      console_.assertClean('name');
    } finally {
      await context.close();
    }
  });

  test('create: a start refused with 429 keeps the upload for a retry, until the tab is closed', async () => {
    const email = 'uploads@example.com';
    await createAccount('uploads-e2e', email);
    const { context, page, console_ } = await openStudio('uploads-e2e', { email, path: '/create' });
    try {
      await page.route(isPath('/v1/kling/videos/motion-upload'), (route) => route.fulfill({
        status: 429,
        headers: { 'Retry-After': '10' },
        json: { error: `Too many jobs for account ${email}: 2 unfinished, maxJobs 2`, code: 429 },
      }));
      console_.expect(/status of 429/);
      await chooseVideo(page);
      await page.getByRole('button', { name: 'Upload and make motion' }).click();
      await page.getByRole('alert').filter({ hasText: 'The extraction could not start. Too many jobs' }).waitFor();
      assert.equal((await uploadedNames('uploads-e2e', email)).length, 1, 'kept for a retry');
      console_.assertClean('refused start');
      await page.close();
      await waitUntil(async () => (await uploadedNames('uploads-e2e', email)).length === 0, 'the kept upload is deleted when the tab closes');
    } finally {
      await context.close();
    }
  });

  test('create: a reload right after the start leaves no uploaded video', async () => {
    const email = 'uploads@example.com';
    const taskId = 4_000_000_000_004;
    const { context, page, console_ } = await createWithMadeUpTask('uploads-e2e', email, taskId, { poll: () => ({ json: fakeEnvelope(taskId) }) });
    try {
      // Requests cut by the reload: a held lookup, a poll of the task, and the discard itself,
      // which the page sees as aborted although `keepalive` has the browser finish it (the
      // check below).
      console_.allow(/request failed: (GET|DELETE) .*\/v1\/kling\/assets\/uploaded\?/);
      console_.allow(new RegExp(`request failed: GET .*/v1/kling/tasks/${taskId}\\?`));
      await chooseVideo(page);
      // The start is answered only once looking an upload up no longer answers, as when the
      // reload comes first: a discard that has to look the upload up is then cut.
      const start = isPath('/v1/kling/videos/motion-upload');
      await page.route(start, async (route) => {
        await page.route(isPath('/v1/kling/assets/uploaded'), (held, request) => (request.method() === 'GET' ? undefined : held.fallback()));
        await route.fallback();
      });
      const started = page.waitForResponse((response) => start(new URL(response.url())));
      await page.getByRole('button', { name: 'Upload and make motion' }).click();
      await started;
      await page.reload();
      await waitUntil(async () => (await uploadedNames('uploads-e2e', email)).length === 0, 'the upload is deleted although the page reloaded right after the start');
      console_.assertClean('reload after start');
    } finally {
      await context.close();
    }
  });

  test('library: a task that fails is said, with a link to where it can be read and deleted', async () => {
    const email = 'failed@example.com';
    await createAccount('failed-e2e', email);
    const { context, page, console_ } = await openStudio('failed-e2e', { email, path: '/create' });
    try {
      await chooseVideo(page);
      await page.getByLabel('Name (optional)').fill('Doomed squats');
      await page.getByRole('button', { name: 'Upload and make motion' }).click();
      const label = page.locator('#progress-label');
      await label.filter({ hasText: /task \d+/ }).waitFor({ timeout: 120_000 });
      const taskId = (await label.textContent()).match(/task (\d+)/)[1];
      await page.getByRole('link', { name: 'Library', exact: true }).click();
      await page.locator('.running a').filter({ hasText: 'Doomed squats' }).waitFor();
      // The task ends without a motion while the library is shown (a cancel is the quickest way).
      const cancelled = await api(baseUrl, tokens['failed-e2e'], 'DELETE', `/scheduler/${taskId}`);
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      const said = page.getByRole('alert').filter({ hasText: '“Doomed squats” failed: Task was canceled.' });
      await said.waitFor();
      const link = said.getByRole('link');
      assert.equal(await link.getAttribute('href'), `/mine/${taskId}`);
      await link.click();
      await page.getByText('The task failed: Task was canceled').waitFor();
      await page.getByRole('button', { name: 'Delete motion' }).click();
      await page.getByRole('dialog', { name: 'Delete this motion?' }).getByRole('button', { name: 'Delete' }).click();
      await page.waitForURL((url) => url.pathname === '/');
      const gone = await api(baseUrl, tokens['failed-e2e'], 'GET', `/tasks/${taskId}?email=${encodeURIComponent(email)}`);
      assert.equal(gone.status, 404, 'deleted');
      console_.assertClean('failed task');
    } finally {
      await context.close();
    }
  });

  test('library: tasks that failed while the studio was closed are listed under "Failed uploads", to be read, deleted or hidden', async () => {
    const user = 'closed-e2e';
    const email = 'closed@example.com';
    await createAccount(user, email);
    // Two tasks end without a motion while no studio is open (a cancel is the quickest way).
    const failed = [];
    for (let i = 0; i < 2; i += 1) {
      const taskId = await startThroughApi(user, email);
      const cancelled = await api(baseUrl, tokens[user], 'DELETE', `/scheduler/${taskId}`);
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      failed.unshift(taskId);
    }
    const { context, page, console_ } = await openStudio(user, { email, path: '/' });
    try {
      const list = page.getByRole('list', { name: 'Failed uploads' });
      await list.waitFor();
      const items = list.getByRole('listitem');
      assert.deepEqual(await items.evaluateAll((lis) => lis.map((li) => Number(li.dataset.taskId))), failed, 'newest first');
      for (const [i, taskId] of failed.entries()) {
        assert.match(await items.nth(i).textContent(), new RegExp(`“Task ${taskId}” failed: Task was canceled\.`));
        assert.equal(await items.nth(i).getByRole('link', { name: 'Read and delete it' }).getAttribute('href'), `/mine/${taskId}`);
      }
      await page.locator('.failed-uploads-box').screenshot({ path: join(ARTIFACTS, 'failed-uploads.png') });

      // The link leads to where the task is read and deleted; back in the library it is gone.
      await items.first().getByRole('link').click();
      await page.getByText('The task failed: Task was canceled').waitFor();
      await page.getByRole('button', { name: 'Delete motion' }).click();
      await page.getByRole('dialog', { name: 'Delete this motion?' }).getByRole('button', { name: 'Delete' }).click();
      await page.waitForURL((url) => url.pathname === '/');
      await list.getByRole('listitem').filter({ hasText: `Task ${failed[1]}` }).waitFor();
      assert.equal(await list.getByRole('listitem').count(), 1, 'the deleted task is not listed');

      // Hidden, the other stays hidden in this tab (it is still in the account).
      await list.getByRole('button', { name: `Hide “Task ${failed[1]}” from this list` }).click();
      assert.equal(await page.getByRole('heading', { name: 'Failed uploads' }).count(), 0, 'nothing left to list');
      const listed = page.waitForResponse((response) => isPath('/v1/kling/tasks')(new URL(response.url())));
      await page.reload();
      await (await listed).finished();
      await page.getByText('You have no motions yet.').waitFor();
      assert.equal(await page.getByRole('heading', { name: 'Failed uploads' }).count(), 0, 'hidden after a reload');
      assert.deepEqual(await taskIds(user, email), [failed[1]], 'hiding deletes nothing');
      console_.assertClean('failed uploads');
    } finally {
      await context.close();
    }
  });

  test('create: a start answered by a proxy\'s 502 or a lost connection finds the task the server made, or offers a retry', async (t) => {
    const user = 'unclear-e2e';
    const email = 'unclear@example.com';
    await createAccount(user, email);
    const { context, page, console_ } = await openStudio(user, { email, path: '/create' });
    try {
      const start = isPath('/v1/kling/videos/motion-upload');
      const label = page.locator('#progress-label');
      const submit = page.getByRole('button', { name: 'Upload and make motion' });
      // A poll in flight when a cancel below lands is answered 404 (the task is gone); the
      // studio then waits for the cancel's own answer.
      console_.allow(/status of 404 \(Not Found\) @ .*\/v1\/kling\/tasks\/\d+\?/);
      let searches = 0;
      page.on('request', (request) => {
        if (isPath('/v1/kling/tasks')(new URL(request.url()))) searches += 1;
      });

      t.diagnostic('the server makes the task, but a proxy answers 502 in its place');
      let made = null;
      await page.route(start, async (route) => {
        made = await (await route.fetch()).json();
        await route.fulfill(PROXY_PAGES[0]);
      }, { times: 1 });
      console_.expect(/status of 502/);
      await chooseVideo(page);
      await submit.click();
      await label.filter({ hasText: /task \d+/ }).waitFor({ timeout: 60_000 });
      assert.match(await label.textContent(), new RegExp(`task ${made.task.id}\\b`), 'the task the server made is followed');
      assert.equal(await page.locator('.create-form [role=alert]').count(), 0, 'no failure is said');
      assert.deepEqual(await taskIds(user, email), [made.task.id], 'one task, no duplicate');
      await waitUntil(async () => (await uploadedNames(user, email)).length === 0, 'the upload is let go, as after a clear start');
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByText('Cancelled: the extraction was stopped and nothing was kept.').waitFor();

      t.diagnostic('the connection is lost before the server sees the start: a retry is offered');
      await page.route(start, (route) => route.abort('connectionreset'), { times: 1 });
      console_.allow(/ERR_CONNECTION_RESET/);
      searches = 0;
      await submit.click();
      const said = page.getByRole('alert').filter({ hasText: 'The extraction may not have started.' });
      await said.waitFor();
      assert.match(await said.textContent(), /No task made from this video was found/);
      assert.ok(searches >= 2, `searched, and searched again (${searches})`);
      assert.deepEqual(await taskIds(user, email), [], 'no task');
      assert.equal((await uploadedNames(user, email)).length, 1, 'the upload is kept for the retry');
      await page.getByRole('button', { name: 'Try again' }).click();
      await label.filter({ hasText: /task \d+/ }).waitFor({ timeout: 60_000 });
      const [retried] = await taskIds(user, email);
      assert.match(await label.textContent(), new RegExp(`task ${retried}\\b`));
      assert.equal((await taskIds(user, email)).length, 1);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByText('Cancelled: the extraction was stopped and nothing was kept.').waitFor();
      await waitUntil(async () => (await uploadedNames(user, email)).length === 0, 'no upload is left');
      console_.assertClean('unclear start');
    } finally {
      await context.close();
    }
  });

  test('create: with the browser\'s clock an hour ahead of the server\'s, a start answered by a proxy\'s 502 still finds its task', async () => {
    const user = 'unclear-e2e';
    const email = 'unclear-clock@example.com';
    await createAccount(user, email);
    const { context, page, console_ } = await openStudio(user, { email, path: '/create', clockAheadMs: 3_600_000 });
    try {
      const label = page.locator('#progress-label');
      console_.allow(/status of 404 \(Not Found\) @ .*\/v1\/kling\/tasks\/\d+\?/);
      let made = null;
      await page.route(isPath('/v1/kling/videos/motion-upload'), async (route) => {
        made = await (await route.fetch()).json();
        await route.fulfill(PROXY_PAGES[0]);
      }, { times: 1 });
      console_.expect(/status of 502/);
      await chooseVideo(page);
      await page.getByRole('button', { name: 'Upload and make motion' }).click();
      await label.filter({ hasText: /task \d+/ }).waitFor({ timeout: 60_000 });
      assert.match(await label.textContent(), new RegExp(`task ${made.task.id}\\b`), 'the task the server made is followed');
      assert.equal(await page.locator('.create-form [role=alert]').count(), 0, 'no failure is said');
      assert.deepEqual(await taskIds(user, email), [made.task.id], 'one task, no duplicate');
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByText('Cancelled: the extraction was stopped and nothing was kept.').waitFor();
      console_.assertClean('unclear start, browser clock ahead');
    } finally {
      await context.close();
    }
  });

  test('motion page: a one-frame motion is shown as a pose, paused', async () => {
    const email = 'viewer@example.com';
    await createAccount('viewer-e2e', email);
    const pose = catalog.find((m) => m.workName === POSE_NAME);
    const { context, page, console_ } = await openStudio('viewer-e2e', { email, path: `/official/${pose.workId}` });
    try {
      await page.getByRole('heading', { level: 1, name: POSE_NAME }).waitFor();
      await page.locator('.viewer-status').getByText('a single pose').waitFor();
      assert.equal(await page.locator('.viewer-status [role=alert]').count(), 0, 'no error');
      assert.equal(await page.locator('output.time').textContent(), '0.0 s / 0.0 s');
      assert.ok(await page.getByRole('button', { name: 'Play' }).isDisabled(), 'nothing to play');
      const box = await figureBox(page, 'pose');
      assert.ok(box.count > 500 && box.height > 1.5 * box.width, `an upright figure is drawn: ${JSON.stringify(box)}`);
      console_.assertClean('pose');
    } finally {
      await context.close();
    }
  });

  test('motion page: a user motion is shown in motiond\'s own axes, even lying down from start to end', async () => {
    const email = 'viewer@example.com';
    await createAccount('viewer-e2e', email);
    // A user motion whose BVH (contract §9.4: Y up) is push-ups along X: answered by the test.
    const taskId = 4_000_000_000_005;
    const fid = 'PushUps0PushUps1PushUps2PushUps3';
    const bvhZip = zipSync({ 'motion.bvh': strToU8(pushUps(40, { roll: 90, tilt: 0 })) });
    const work = {
      workId: 77,
      taskId,
      resource: { resource: '' },
      cover: { resource: '' },
      extData: { bvh_binary: `${baseUrl}/files/${fid}/bvh.zip` },
    };
    const { context, page, console_ } = await openStudio('viewer-e2e', { email, path: null });
    try {
      await page.route(isPath(`/v1/kling/tasks/${taskId}`), (route) => route.fulfill({ json: fakeEnvelope(taskId, 'succeed', { works: [work], message: 'success' }) }));
      await page.route(isPath(`/files/${fid}/bvh.zip`), (route) => route.fulfill({ contentType: 'application/zip', body: Buffer.from(bvhZip) }));
      await page.goto(`${baseUrl}/mine/${taskId}`);
      await waitForViewer(page);
      await page.getByRole('button', { name: 'Pause' }).click();
      const box = await figureBox(page, 'user-motion-lying');
      assert.ok(box.count > 500 && box.width > 1.5 * box.height, `the figure lies along the ground: ${JSON.stringify(box)}`);
      console_.assertClean('user motion axes');
    } finally {
      await context.close();
    }
  });

  test('motion pages give their WebGL contexts back', async () => {
    const email = 'viewer@example.com';
    await createAccount('viewer-e2e', email);
    const countContexts = () => {
      // Every WebGL context the page makes, to count those still alive.
      const made = [];
      window.webglContexts = made;
      const getContext = HTMLCanvasElement.prototype.getContext;
      HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
        const context = getContext.call(this, type, ...rest);
        if (context && /webgl/.test(type) && !made.includes(context)) made.push(context);
        return context;
      };
    };
    const live = (page) => page.evaluate(() => window.webglContexts.filter((c) => !c.isContextLost()).length);
    const { context, page, console_ } = await openStudio('viewer-e2e', { email, path: '/', init: countContexts });
    const warnings = [];
    page.on('console', (message) => {
      if (/WebGL contexts/i.test(message.text())) warnings.push(message.text());
    });
    try {
      // Ten motion pages in a row, as a person browsing the catalog.
      const cards = page.locator('#official-motions .motion-card').filter({ hasNotText: POSE_NAME });
      await cards.first().waitFor();
      const count = await cards.count();
      for (let i = 0; i < 10; i += 1) {
        await cards.nth(i % count).click();
        await waitForViewer(page);
        await page.getByRole('link', { name: '← Library' }).click();
        await cards.first().waitFor();
      }
      assert.equal(await live(page), 0, 'no context lives on once no motion is shown');
      await cards.first().click();
      await waitForViewer(page);
      assert.equal(await live(page), 1, 'one live context: the motion shown');
      assert.deepEqual(warnings, [], 'the browser dropped no context');
      console_.assertClean('viewer pages');
    } finally {
      await context.close();
    }
  });

  test('motion page: a flash notice outlives the loading of the 3D view', async () => {
    const email = 'viewer@example.com';
    await createAccount('viewer-e2e', email);
    const jacks = catalog.find((m) => m.workName === 'Jumping jacks') || catalog[0];
    // Choosing the account flashes "Using account …" on the way to the motion.
    const { context, page, console_ } = await openStudio('viewer-e2e', { path: `/account?next=/official/${jacks.workId}` });
    try {
      await page.getByRole('button', { name: email }).click();
      const notice = await page.waitForFunction(() => {
        const status = document.querySelector('.viewer-status');
        const time = document.querySelector('output.time')?.textContent || '';
        if (!status || status.textContent !== '' || !/ \/ [1-9]/.test(time)) return false;
        const shown = document.getElementById('notice');
        return { hidden: shown.hidden, text: shown.textContent };
      });
      assert.deepEqual(await notice.jsonValue(), { hidden: false, text: `Using account ${email}.` });
      console_.assertClean('flash');
    } finally {
      await context.close();
    }
  });

  test('the skip link moves focus to the content', async () => {
    const email = 'viewer@example.com';
    await createAccount('viewer-e2e', email);
    const { context, page, console_ } = await openStudio('viewer-e2e', { email, path: '/' });
    try {
      await page.locator('#official-motions .motion-card').first().waitFor();
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Skip to content');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.activeElement?.id === 'main');
      assert.equal(new URL(page.url()).hash, '#main');
      // Tab goes on from the content, not from the top bar.
      await page.keyboard.press('Tab');
      assert.ok(await page.evaluate(() => document.getElementById('main').contains(document.activeElement)), 'the next stop is in the content');
      console_.assertClean('skip link');
    } finally {
      await context.close();
    }
  });

  test('web studio: sign in, browse, 3D preview, upload, download, delete', { timeout: 1_500_000 }, async (t) => {
    const result = await runStudioFlow({
      baseUrl,
      token: tokens['studio-e2e'],
      apiToken: tokens['studio-e2e'],
      squatsVideo: squats8,
      tooLongVideo: SQUATS,
      artifacts: ARTIFACTS,
      minOfficial: names.length + 1,
      log: (step) => t.diagnostic(step),
    });
    assert.equal(result.officialCount, names.length + 1, 'the catalog and the one-frame pose');
  });
});
