// The browser walk through the studio, shared by studio.spec.mjs: sign in, browse the catalog,
// watch a motion in 3D, upload a video, wait for its motion, download the BVH and delete it.
// Every step leaves a screenshot in test-artifacts/studio/. Any console error fails the walk.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const STEP_TIMEOUT = 30_000;

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * Watches a page for console errors, uncaught exceptions and failed requests. A few API
 * answers are expected to fail in a step (a wrong token's 401, an upload the test cancels);
 * those are announced with `expect(pattern)` and may occur once each, or with `allow(pattern)`
 * any number of times (a test that makes a proxy fail on purpose).
 */
export function watchConsole(page) {
  const errors = [];
  const allowed = [];
  const always = [];
  const unexpected = (text) => {
    if (always.some((pattern) => pattern.test(text))) return;
    const index = allowed.findIndex((pattern) => pattern.test(text));
    if (index >= 0) allowed.splice(index, 1);
    else errors.push(text);
  };
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    unexpected(`console.error: ${message.text()} @ ${message.location()?.url || ''}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => {
    const failure = request.failure()?.errorText || '';
    // Media elements cancel range requests when a preview is paused or replaced.
    if (failure === 'net::ERR_ABORTED' && ['media', 'image'].includes(request.resourceType())) return;
    unexpected(`request failed: ${request.method()} ${request.url()} ${failure}`);
  });
  return {
    errors,
    expect: (pattern) => allowed.push(pattern),
    allow: (pattern) => always.push(pattern),
    assertClean(step) {
      assert.deepEqual(errors, [], `console errors by step "${step}":\n${errors.join('\n')}`);
    },
  };
}

export async function canvasShot(page) {
  return page.locator('canvas.viewer-canvas').screenshot();
}

/** Waits until the viewer has loaded the motion and is playing. */
export async function waitForViewer(page) {
  await page.locator('canvas.viewer-canvas').waitFor({ timeout: STEP_TIMEOUT });
  await page.waitForFunction(
    () => {
      const status = document.querySelector('.viewer-status');
      const time = document.querySelector('output.time')?.textContent || '';
      return status && status.textContent === '' && / \/ [1-9]|\/ 0\.[1-9]/.test(time);
    },
    null,
    { timeout: STEP_TIMEOUT },
  );
}

/**
 * The canvas changes between two moments while the motion plays, and stays the same while it
 * is paused: so the change comes from the animated figure, not from the camera.
 */
async function assertFigureMoves(page, label) {
  // A flash notice stays for its 6 s, and the page moves up when it goes: compare after that.
  await page.locator('#notice').waitFor({ state: 'hidden', timeout: 10_000 });
  const first = await canvasShot(page);
  await page.waitForTimeout(600);
  const second = await canvasShot(page);
  assert.notDeepEqual(first, second, `${label}: the canvas did not change while playing`);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.waitForTimeout(150);
  const pausedA = await canvasShot(page);
  await page.waitForTimeout(400);
  const pausedB = await canvasShot(page);
  assert.deepEqual(pausedA, pausedB, `${label}: the canvas changed while paused`);
  await page.getByRole('button', { name: 'Play' }).click();
}

export async function runStudioFlow({ baseUrl, token, apiToken, squatsVideo, tooLongVideo, artifacts, minOfficial = 5, log = () => {} }) {
  mkdirSync(artifacts, { recursive: true });
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  const page = await context.newPage();
  const console_ = watchConsole(page);
  let shot = 0;
  const snap = async (name) => {
    shot += 1;
    await page.screenshot({ path: join(artifacts, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  page.setDefaultTimeout(STEP_TIMEOUT);
  try {
    // 1. Sign in: a wrong token is refused in plain words, then the real one is accepted.
    log('sign in');
    await page.goto(`${baseUrl}/`);
    await page.waitForURL(/\/signin\?next=/);
    await snap('signin');
    console_.expect(/status of 401/);
    await page.getByLabel('API token').fill('mtd_wrong_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'token was not accepted' }).waitFor();
    await snap('signin-refused');
    // A "next" that the browser would read as another host (`/\\host`) brings the user home.
    await page.goto(`${baseUrl}/signin?next=${encodeURIComponent('/\\evil.example.com/x')}`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();

    // 2. A new user has no account: create one.
    log('create account');
    await page.waitForURL(/\/account/);
    await page.getByLabel('Account email').fill('studio@example.com');
    await snap('account');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('motiond.token')), token);
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing is kept in localStorage');

    // 3. The library shows the seeded catalog, grouped by tag.
    log('library');
    const officialCards = page.locator('#official-motions .motion-card');
    await officialCards.first().waitFor();
    const officialCount = await officialCards.count();
    assert.ok(officialCount >= minOfficial, `the seeded catalog shows ${officialCount} motions`);
    const tags = await page.locator('#official-motions h3').allTextContents();
    assert.ok(tags.length >= 2, `motions are grouped by tag: ${tags.join(', ')}`);
    await page.getByText('You have no motions yet').waitFor();
    await officialCards.first().hover();
    await page.waitForFunction(() => {
      const video = document.querySelector('#official-motions .motion-card video');
      return video && !video.hidden && video.currentSrc;
    });
    await snap('library');

    // 4. A catalog motion plays in the 3D viewer.
    log('official motion in 3D');
    const firstName = (await officialCards.first().locator('.motion-name').textContent()).trim();
    await officialCards.first().click();
    await page.waitForURL(/\/official\/-\d+$/);
    await page.getByRole('heading', { level: 1, name: firstName }).waitFor();
    await waitForViewer(page);
    await snap('official-viewer');
    await assertFigureMoves(page, `official motion "${firstName}"`);
    // Scrubbing with the keyboard moves to the end of the clip.
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByLabel('Position in the motion').focus();
    await page.keyboard.press('End');
    const readout = await page.locator('output.time').textContent();
    const [now, total] = readout.split('/').map((s) => Number.parseFloat(s));
    assert.ok(total > 0 && Math.abs(now - total) < 0.05, `scrubbed to the end: ${readout}`);
    // The view zooms from the keyboard too (the figure is paused, so only the camera moves).
    const canvas = page.locator('canvas.viewer-canvas');
    await canvas.focus();
    const before = await canvasShot(page);
    await page.keyboard.press('+');
    await page.waitForTimeout(300);
    assert.notDeepEqual(await canvasShot(page), before, 'plus zooms the 3D view');
    await page.getByLabel('Speed').selectOption('2');
    await page.getByRole('button', { name: 'Play' }).click();
    await snap('official-viewer-scrubbed');
    // The glb download comes out of binary.zip, unzipped in the browser.
    const [glb] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'glTF (.glb)' }).click(),
    ]);
    const glbPath = join(artifacts, 'official.glb');
    await glb.saveAs(glbPath);
    assert.equal(readFileSync(glbPath).subarray(0, 4).toString('latin1'), 'glTF', 'a binary glTF file');

    // 5. Phone-sized screen: the library still fits.
    log('phone layout');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Library', exact: true }).click();
    await officialCards.first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
    await snap('library-phone');
    await officialCards.first().click();
    await waitForViewer(page);
    const viewerOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(viewerOverflow <= 0, `the motion page fits a phone (overflow ${viewerOverflow}px)`);
    await snap('viewer-phone');
    await page.setViewportSize({ width: 1280, height: 860 });

    // 6. Create: a video over 10 s is refused in the browser, before any upload.
    log('create: too long');
    let uploads = 0;
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/v1/kling/assets') uploads += 1;
    });
    await page.getByRole('link', { name: 'Create', exact: true }).click();
    await page.waitForURL(/\/create$/);
    // A file that is not a video is refused by its type.
    await page.locator('#video-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a video') });
    await page.getByRole('alert').filter({ hasText: 'is not an MP4 or QuickTime (.mov) video' }).waitFor();
    // Dropped onto the drop zone, as a person would drag it from their desktop.
    const dataTransfer = await page.evaluateHandle(({ b64, name }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type: 'video/mp4' }));
      return transfer;
    }, { b64: readFileSync(tooLongVideo).toString('base64'), name: 'too-long.mp4' });
    await page.locator('.dropzone').dispatchEvent('drop', { dataTransfer });
    await page.getByText('too-long.mp4 ·').waitFor();
    await page.getByRole('alert').filter({ hasText: 'must be between 2 and 10 seconds' }).waitFor();
    assert.ok(await page.getByRole('button', { name: 'Upload and make motion' }).isDisabled());
    assert.equal(uploads, 0, 'nothing was uploaded');
    await snap('create-too-long');

    // 7. A good video uploads with progress, the task is followed live and the result opens.
    log('create: upload');
    await page.locator('#video-file').setInputFiles(squatsVideo);
    await page.getByText('The video looks good.').waitFor();
    // An upload can be cancelled while it runs: the server is never sent the file.
    const assetUpload = (url) => url.pathname === '/v1/kling/assets';
    await page.route(assetUpload, () => {}); // held: never answered
    console_.expect(/request failed: POST .*\/v1\/kling\/assets\?/);
    const heldUpload = () => page.waitForRequest((r) => r.method() === 'POST' && assetUpload(new URL(r.url())));
    await Promise.all([heldUpload(), page.getByRole('button', { name: 'Upload and make motion' }).click()]);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Cancelled: the upload was stopped and nothing was kept.').waitFor();
    // Leaving the page stops its upload too (the check after the motion finds no video left).
    console_.expect(/request failed: POST .*\/v1\/kling\/assets\?/);
    await Promise.all([heldUpload(), page.getByRole('button', { name: 'Upload and make motion' }).click()]);
    await page.getByRole('link', { name: 'Library', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await page.unroute(assetUpload);
    await page.getByRole('link', { name: 'Create', exact: true }).click();
    await page.waitForURL(/\/create$/);
    await page.locator('#video-file').setInputFiles(squatsVideo);
    await page.getByText('The video looks good.').waitFor();
    await page.getByLabel('Name (optional)').fill('Squats e2e');
    await snap('create-ready');
    await page.getByRole('button', { name: 'Upload and make motion' }).click();
    // Either the task starts, or the studio says in plain words why not (then the test fails with that).
    await page.waitForFunction(
      () => /task \d+/.test(document.querySelector('#progress-label')?.textContent || '') || document.querySelector('.create-form [role=alert]'),
      null,
      { timeout: 120_000 },
    );
    const uploadError = await page.locator('.create-form [role=alert]').allTextContents();
    assert.deepEqual(uploadError, [], 'the upload and the task start succeed');
    assert.equal(uploads, 3, 'the cancelled upload, the left one and this one');
    await snap('create-progress');
    // The library lists the running task under the name it was given (the scheduler has only
    // ids), and its link follows it to the finished motion.
    log('create: the task in "Being processed"');
    const startedTask = (await page.locator('#progress-label').textContent()).match(/task (\d+)/)[1];
    await page.getByRole('link', { name: 'Library', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/');
    const processing = page.locator('.running a').filter({ hasText: 'Squats e2e' });
    const remembered = await page.evaluate(() => sessionStorage.getItem('motiond.taskNames'));
    assert.deepEqual(JSON.parse(remembered), [[startedTask, 'Squats e2e']], 'the tab remembers the name it started');
    const running = await processing.waitFor({ timeout: 10_000 }).then(
      () => true,
      () => false,
    );
    if (running) {
      assert.equal(await processing.getAttribute('href'), `/mine/${startedTask}`);
      await snap('library-processing');
      // Followed by address: a click could race the refresh that removes the finished task.
      await page.goto(`${baseUrl}/mine/${startedTask}`);
    } else {
      // The task was quicker than the page: it is a motion already.
      await page.goto(`${baseUrl}/mine/${startedTask}`);
    }
    log('create: waiting for the task');
    await page.waitForURL(/\/mine\/\d+$/, { timeout: 600_000 });
    const taskId = page.url().match(/\/mine\/(\d+)$/)[1];
    assert.equal(taskId, startedTask);
    await page.getByRole('heading', { level: 1, name: 'Squats e2e' }).waitFor({ timeout: 600_000 });
    await waitForViewer(page);
    await snap('own-viewer');
    await assertFigureMoves(page, 'the new motion');
    // The task keeps its own copies, so the studio removed the uploaded video once it started.
    const assets = await fetch(`${baseUrl}/v1/kling/assets/uploaded?email=studio%40example.com`, {
      headers: { Authorization: `Bearer ${apiToken}` },
    }).then((r) => r.json());
    assert.deepEqual(assets, { uploadAssetsList: [] }, 'no uploaded video is left behind');

    // 8. The new motion is in the user's library.
    log('own motion in library');
    await page.getByRole('link', { name: 'Library', exact: true }).click();
    const mine = page.locator('#my-motions .motion-card').filter({ hasText: 'Squats e2e' });
    await mine.waitFor();
    await snap('library-with-own');

    // Search by name, over both lists; the address keeps the search.
    log('search');
    const search = page.getByRole('searchbox', { name: 'Find a motion by name' });
    await search.fill('SQUATS');
    await page.locator('#my-motions').getByText('1 of your motions matches.').waitFor();
    // Screen readers hear both counts from the one live region.
    await page.getByRole('status').filter({ hasText: '1 of your motions matches. No official motion matches.' }).waitFor();
    await page.locator('#official-motions').getByText('No official motion matches.').waitFor();
    assert.equal(new URL(page.url()).search, '?q=SQUATS');
    await snap('search-own');
    const firstWord = firstName.split(/\s+/)[0];
    await search.fill(firstWord.toLowerCase());
    await page.locator('#my-motions').getByText('None of your motions matches.').waitFor();
    const found = await page.locator('#official-motions .motion-name').allTextContents();
    assert.ok(found.length >= 1 && found.length < officialCount, `a part of the catalog: ${found.join(', ')}`);
    assert.ok(found.every((n) => n.toLowerCase().includes(firstWord.toLowerCase())), found.join(', '));
    await page.reload();
    assert.equal(await search.inputValue(), firstWord.toLowerCase(), 'the search survives a reload');
    await page.locator('#my-motions').getByText('None of your motions matches.').waitFor();
    await search.fill('');
    await mine.waitFor();
    await page.locator('#official-motions .motion-card').nth(officialCount - 1).waitFor();
    assert.equal(new URL(page.url()).search, '');

    // 9. Download its BVH.
    log('download BVH');
    await mine.click();
    await page.waitForURL(new RegExp(`/mine/${taskId}$`));
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'BVH (.bvh)' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'Squats_e2e.bvh');
    const saved = join(artifacts, 'downloaded.bvh');
    await download.saveAs(saved);
    const bvh = readFileSync(saved, 'utf8');
    assert.match(bvh, /^HIERARCHY\s+ROOT Hips/);
    assert.match(bvh, /\nMOTION\s+Frames:\s*\d+\s+Frame Time:/);

    // 10. Delete it, after confirming.
    log('delete');
    await page.getByRole('button', { name: 'Delete motion' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this motion?' });
    await dialog.waitFor();
    await snap('delete-confirm');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    await page.getByText('Deleted “Squats e2e”.').waitFor();
    await page.getByText('You have no motions yet').waitFor();
    await snap('deleted');
    const check = await fetch(`${baseUrl}/v1/kling/tasks/${taskId}`, { headers: { Authorization: `Bearer ${apiToken}` } });
    assert.equal(check.status, 404, 'the task is gone on the server');

    // 11. Keyboard: the skip link and the cards are reachable with Tab, with a visible focus.
    log('keyboard');
    await page.reload();
    await page.locator('#official-motions .motion-card').first().waitFor();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
    assert.equal(focused, 'Skip to content');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    // The dark orange ring: 4.4:1 against the page (WCAG asks 3:1 of a focus indicator).
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineColor);
    assert.equal(ring, 'rgb(179, 92, 0)');

    console_.assertClean('the whole walk');
    return { officialCount, tags, taskId };
  } catch (error) {
    await snap('failure').catch(() => {});
    if (console_.errors.length) error.message += `\nconsole errors so far:\n${console_.errors.join('\n')}`;
    throw error;
  } finally {
    await browser.close();
  }
}
