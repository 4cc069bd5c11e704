// The gateway's web page (issue 25) used as a person would: Debian's Chromium driven by
// playwright-core against a real cluster with a real encoder. Enroll one person by picking a
// folder and another from a zip (person from each photo's folder) while the progress is
// watched, drop a mirrored and resized photo of the first and see its box and that person
// first and who it is, move the threshold with the keyboard and see the verdicts change, see
// the persons panel, delete a person with the keyboard (confirmed) and see their match leave the
// result, then one error of each kind: not an image, too large, no face, a wrong key, a reader
// key enrolling or deleting, the cluster down. Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1. Encodes are few (7): the model is slow
// on two cores.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import sharp from 'sharp';
import { samplePhotoDir } from '../../libs/sample-photos/index.js';
import { writeZip } from '../../libs/zip/index.js';
import { portrait } from '../fixtures/sample-portraits.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { removeDir, tempDir } from '../helpers/nats.js';
import { until } from '../helpers/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const READER = 'reader-key-for-the-page-test';
const WRITER = 'writer-key-for-the-page-test';
const MAX_BODY = 1024 * 1024;
/** The README's screenshots are refreshed with UPDATE_SCREENSHOTS=1; otherwise they go to the test's temp dir (a test run leaves the tree as it was). */
const DOCS_SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));

type PageFile = { name: string; mimeType: string; buffer: Buffer };
const jpeg = (name: string, buffer: Buffer): PageFile => ({ name, mimeType: 'image/jpeg', buffer });

/** Drops `file` on the page's drop zone, as a file dragged from the desktop is. */
async function dropFile(page: Page, file: PageFile): Promise<void> {
  // Runs in the page (this project's TypeScript knows no DOM): a DataTransfer holding the file.
  const transfer = await page.evaluateHandle(`(() => {
    const data = new DataTransfer();
    const bytes = Uint8Array.from(atob(${JSON.stringify(file.buffer.toString('base64'))}), (c) => c.charCodeAt(0));
    data.items.add(new File([bytes], ${JSON.stringify(file.name)}, { type: ${JSON.stringify(file.mimeType)} }));
    return data;
  })()`);
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: transfer });
}

describe('the web page, in Chromium, against a real cluster', { timeout: 300_000, skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, () => {
  let cluster: TestCluster;
  let dir: string;
  let gw: TestGateway;
  let browser: Browser;
  let screenshots: string;
  let page: Page;
  /** Portraits from sample1.jpg: [face, variant] → a photo. */
  let ada: Buffer;
  let adaMirrored: Buffer;
  let grace: Buffer[];
  /** A grey square: an image without a face. */
  let blank: Buffer;

  const message = () => page.locator('#message');
  /** The persons panel's rows: [name, face count]. */
  const personsListed = async () =>
    Promise.all(
      (await page.locator('#persons li').all()).map(async (row) => [await row.locator('.person').textContent(), await row.locator('.count').textContent()]),
    );
  const whoLine = () => page.locator('#faces .face').first().locator('.who');
  const dropAndSee = async (file: PageFile, text: RegExp) => {
    await dropFile(page, file);
    let said = '';
    await until(
      () => `the message ${text} (it says ${JSON.stringify(said)})`,
      async () => {
        said = (await message().textContent()) ?? '';
        return text.test(said) ? true : undefined;
      },
      60_000,
    );
  };

  before(async () => {
    cluster = await startTestCluster({ shards: 2, auth: true });
    cluster.startService('encoder', 'encoder', { ENCODER_JOBS: 'false' });
    dir = await tempDir('faceshard-web-page-');
    gw = await startGateway(cluster, dir, `${READER} reader\n${WRITER} writer\n`, {
      GATEWAY_MAX_BODY_BYTES: String(MAX_BODY),
      GATEWAY_REQUEST_TIMEOUT_MS: '60000',
    });
    await until(
      () => `the encoder ready (${cluster.output.join('')})`,
      async () => ((await cluster.client.status()).encoders.length ? true : undefined),
      120_000,
      500,
    );
    const photo = await readFile(path.join(samplePhotoDir(), 'sample1.jpg'));
    const faces = (await cluster.client.encode(photo, 60_000)).faces;
    assert.ok(faces.length >= 2, `faces in sample1.jpg: ${faces.length}`);
    ada = await portrait(photo, faces[0].box, 0);
    // Variant 7: mirrored, a wider crop; then made small: the same person in a picture never stored.
    adaMirrored = await sharp(await portrait(photo, faces[0].box, 7))
      .resize(200)
      .jpeg()
      .toBuffer();
    grace = [await portrait(photo, faces[1].box, 0), await portrait(photo, faces[1].box, 1)];
    blank = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#8a8a8a' } })
      .png()
      .toBuffer();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
    // Playwright turns on file chooser interception when the first listener is added, without waiting
    // for the browser; a waitForEvent added just before the key press can lose that race, and the
    // chooser then opens unseen. A listener held for the whole suite keeps interception on.
    page.on('filechooser', () => undefined);
    screenshots = process.env.UPDATE_SCREENSHOTS === '1' ? DOCS_SCREENSHOTS : path.join(dir, 'screenshots');
    await mkdir(screenshots, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    if (gw?.process.exitCode === null) gw.process.kill('SIGKILL');
    await cluster?.cleanup();
    if (dir) await removeDir(dir);
  });

  test('the page opens without a key, takes the key from the URL fragment and shows the cluster', async () => {
    const res = await fetch(`${gw.base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    await page.goto(`${gw.base}/#key=${WRITER}`);
    // The fragment is taken into the tab's storage and off the address bar.
    assert.equal(new URL(page.url()).hash, '');
    await page
      .locator('#status-text')
      .filter({ hasText: /2 shards · 2\/2 replicas ready · 0 faces · 1 encoder/ })
      .waitFor({ timeout: 15_000 });
  });

  test('enroll a person from a picked folder, and another from a zip with the progress reaching 100%', async () => {
    await page.fill('#person', 'Ada Lovelace');
    // A folder picked (webkitdirectory): its photos are named by their path below it.
    const folder = path.join(dir, 'ada-photos');
    await mkdir(folder);
    await writeFile(path.join(folder, 'ada.jpg'), ada);
    await page.setInputFiles('#enroll-folder', folder);
    await page.click('#enroll-form button[type=submit]');
    await page.locator('#enroll-text').filter({ hasText: '1 / 1 photos sent, 1 face stored' }).waitFor({ timeout: 60_000 });

    const zip = path.join(dir, 'people.zip');
    await writeZip(zip, [
      { name: 'people/Grace/1.jpg', data: grace[0], method: 'store' },
      { name: 'people/Grace/2.jpg', data: grace[1] },
      { name: 'people/Grace/wall.png', data: blank },
      { name: 'people/readme.txt', data: Buffer.from('not a photo') },
    ]);
    // (A directory input cannot be given no files: emptied as a person's "clear" would.)
    await page.evaluate(`document.getElementById('enroll-folder').value = ''`);
    await page.fill('#person', '');
    await page.check('#person-from-folder');
    await page.setInputFiles('#enroll-zip', { name: 'people.zip', mimeType: 'application/zip', buffer: await readFile(zip) });
    // Every progress text the page shows, as it shows them.
    await page.evaluate(`(() => {
      const text = document.getElementById('enroll-text');
      window.progressSeen = [];
      new MutationObserver(() => window.progressSeen.push(text.textContent)).observe(text, { childList: true, characterData: true, subtree: true });
    })()`);
    await page.keyboard.press('Enter');
    await page.locator('#enroll-text').filter({ hasText: '3 / 3 photos sent, 2 faces stored' }).waitFor({ timeout: 60_000 });
    const seen = await page.evaluate<string[]>('window.progressSeen');
    assert.deepEqual(
      seen.map((t) => t.split(',')[0]),
      ['0 / 3 photos sent', '1 / 3 photos sent', '2 / 3 photos sent', '3 / 3 photos sent'],
    );
    assert.deepEqual(await page.evaluate(`[document.getElementById('enroll-progress').value, document.getElementById('enroll-progress').max]`), [3, 3]);
    // What was not enrolled is listed: a file that is no photo, a photo without a face.
    const problems = await page.locator('#enroll-problems li').allTextContents();
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0], /readme\.txt: not a \.jpg/);
    assert.match(problems[1], /^Grace\/wall\.png: No face found in the photo\. \(no face found in "wall\.png": nothing enrolled\)/);
    // The cluster holds each face under <person>/<name>#<face> with its person.
    const stored = await cluster.client.get(['Ada Lovelace/ada.jpg#0', 'Grace/1.jpg#0', 'Grace/2.jpg#0']);
    assert.deepEqual(
      stored.faces.map((f) => [f.id, (f.meta as { person: string }).person]),
      [
        ['Ada Lovelace/ada.jpg#0', 'Ada Lovelace'],
        ['Grace/1.jpg#0', 'Grace'],
        ['Grace/2.jpg#0', 'Grace'],
      ],
    );
    await page.locator('#status-text').filter({ hasText: '3 faces' }).waitFor({ timeout: 15_000 });
    // The persons panel, asked again after each enroll.
    await page.locator('#persons-text').filter({ hasText: '2 persons, 0 faces without a person.' }).waitFor({ timeout: 15_000 });
    assert.deepEqual(await personsListed(), [
      ['Ada Lovelace', '1 face'],
      ['Grace', '2 faces'],
    ]);
    await page.screenshot({ path: path.join(screenshots, 'page-enroll.png') });
  });

  test('drop a mirrored, resized photo: a box on the face, the right person first; the slider re-judges', async () => {
    await dropAndSee(jpeg('who.jpg', adaMirrored), /1 face found in who\.jpg/);
    assert.equal(await page.locator('#photo-frame .box').count(), 1);
    const first = page.locator('#faces .face').first().locator('.match').first();
    assert.equal(await first.locator('.person').textContent(), 'Ada Lovelace');
    assert.equal(await first.locator('.verdict').textContent(), 'same person');
    assert.match((await whoLine().textContent()) ?? '', /^Who is this: Ada Lovelace \(nearest at 0\.\d{3}, 1 vote\)$/);
    // Its thumbnail, fetched with the key, replaces the initials: the stored face's 96 px crop.
    await first.locator('img.thumb[src^="blob:"]').waitFor({ timeout: 15_000 });
    assert.deepEqual(
      await first.locator('img.thumb').evaluate((img) => {
        const shown = img as unknown as { naturalWidth: number; complete: boolean };
        return [shown.naturalWidth, shown.complete];
      }),
      [96, true],
    );
    const distance = Number(await first.locator('.distance').textContent());
    assert.ok(distance > 0.3 && distance < 0.6, `distance ${distance}: the mirrored photo is not the stored one, and near it`);
    await page.screenshot({ path: path.join(screenshots, 'page-search.png') });
    assert.ok((await page.evaluate<number>('document.documentElement.scrollWidth')) <= 1000, 'nothing wider than the window');

    // With the keyboard: each ArrowLeft is 0.01 less, down to just under the distance.
    await page.focus('#threshold');
    const steps = Math.round((0.6 - Math.floor(distance * 100) / 100) * 100);
    for (let i = 0; i < steps; i++) await page.keyboard.press('ArrowLeft');
    assert.equal(await page.locator('#threshold-value').textContent(), (Math.floor(distance * 100) / 100).toFixed(2));
    assert.equal(await first.locator('.verdict').textContent(), 'not the same');
    assert.match((await whoLine().textContent()) ?? '', /^Who is this: unknown \(no person within 0\.\d\d\)$/);
    assert.equal(await page.locator('#photo-frame .box.other').count(), 1);
    await page.keyboard.press('End');
    assert.equal(await first.locator('.verdict').textContent(), 'same person');

    // Phone width: the same result, one column.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.screenshot({ path: path.join(screenshots, 'page-phone.png') });
    assert.ok((await page.evaluate<number>('document.documentElement.scrollWidth')) <= 390, 'nothing wider than the phone');
    await page.setViewportSize({ width: 1000, height: 760 });
  });

  test('delete a person with the keyboard, confirmed: their match leaves the result and the persons panel', async () => {
    assert.equal(await page.locator('#faces .match .person').filter({ hasText: 'Ada Lovelace' }).count(), 1);
    const deleteAda = page.getByRole('button', { name: 'Delete Ada Lovelace' });
    const deletes: string[] = [];
    const seeDelete = (request: Request) => void (request.method() === 'DELETE' && deletes.push(request.url()));
    page.on('request', seeDelete);
    await deleteAda.focus();
    // Escape cancels: nothing deleted.
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Delete a person' }).waitFor({ state: 'visible' });
    assert.equal(await page.locator('#confirm-text').textContent(), 'Delete Ada Lovelace and all 1 face stored for them? This cannot be undone.');
    assert.equal(await page.evaluate<string>('document.activeElement.value'), 'cancel', 'the safe choice has the focus');
    await page.keyboard.press('Escape');
    await page.locator('#confirm-delete').waitFor({ state: 'hidden' });
    assert.equal((await cluster.client.get(['Ada Lovelace/ada.jpg#0'])).faces.length, 1);
    // Enter, Tab to "Delete", Enter.
    await deleteAda.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Delete a person' }).waitFor({ state: 'visible' });
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate<string>('document.activeElement.value'), 'delete');
    await page.keyboard.press('Enter');
    await message()
      .filter({ hasText: /^Deleted Ada Lovelace: 1 face\.$/ })
      .waitFor({ timeout: 60_000 });
    page.off('request', seeDelete);
    assert.deepEqual(deletes, [`${gw.base}/v1/faces?person=Ada%20Lovelace`], 'one delete: the one confirmed');
    assert.equal((await cluster.client.get(['Ada Lovelace/ada.jpg#0'])).faces.length, 0);
    // The photo was searched again: its face is still there, Ada no longer among its matches nor its verdict.
    assert.equal(await page.locator('#faces .face').count(), 1);
    assert.deepEqual(await page.locator('#faces .match .person').allTextContents(), ['Grace', 'Grace']);
    assert.doesNotMatch((await whoLine().textContent()) ?? '', /Ada/);
    assert.deepEqual(await personsListed(), [['Grace', '2 faces']]);
    assert.equal(await page.locator('#persons-text').textContent(), '1 person, 0 faces without a person.');
  });

  test('a clear message for each error: not an image, too large, no face, a wrong key, a reader enrolling or deleting, the cluster down', async () => {
    await dropAndSee({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo') }, /^Not an image: choose a JPEG, PNG or WebP photo/);
    const huge = Buffer.concat([ada, Buffer.alloc(MAX_BODY)]);
    await dropAndSee(jpeg('huge.jpg', huge), /^The file is too large for the gateway\. \(request body larger than 1048576 bytes/);
    // Picked with the keyboard this time: the drop zone opens the file chooser on Enter.
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator('#drop').press('Enter')]);
    await chooser.setFiles({ name: 'wall.png', mimeType: 'image/png', buffer: blank });
    await until('the no-face message', async () => (/^No face found in wall\.png/.test((await message().textContent()) ?? '') ? true : undefined), 60_000);

    await page.fill('#key-input', 'not-a-key-of-this-gateway');
    await page.press('#key-input', 'Enter');
    await page.locator('#status-text').filter({ hasText: 'The API key was not accepted' }).waitFor({ timeout: 15_000 });
    await dropAndSee(jpeg('who.jpg', adaMirrored), /^The API key was not accepted: enter a valid key above/);

    await page.fill('#key-input', READER);
    await page.press('#key-input', 'Enter');
    await page.uncheck('#person-from-folder');
    await page.setInputFiles('#enroll-zip', []);
    await page.fill('#person', 'Ada Lovelace');
    await page.setInputFiles('#enroll-files', [jpeg('ada2.jpg', ada)]);
    await page.click('#enroll-form button[type=submit]');
    await until('the forbidden message', async () =>
      /^This key may not do that: enrolling needs a writer key/.test((await message().textContent()) ?? '') ? true : undefined,
    );
    // A reader deleting: confirmed, then refused, and Grace stays.
    await page.locator('#persons li[data-person="Grace"] button.delete').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await until('the forbidden message for deleting', async () =>
      /^This key may not do that: deleting needs a writer key\. \(/.test((await message().textContent()) ?? '') ? true : undefined,
    );
    assert.deepEqual(await personsListed(), [['Grace', '2 faces']]);
    assert.equal((await cluster.client.get(['Grace/1.jpg#0'])).faces.length, 1);

    await cluster.nats.cleanup();
    await until('the gateway not ready without NATS', async () => ((await fetch(`${gw.base}/readyz`)).status === 503 ? true : undefined), 15_000);
    await dropAndSee(jpeg('who.jpg', adaMirrored), /^The cluster is down/);
  });
});
