// The page's wiring: the key, the photo search (drop or pick), the threshold, enrolling, the persons, the status line.
import { callApi, loadKey, saveKey } from './api.js';
import { enrollAll, enrollPlan } from './enroll.js';
import { FacesView } from './faces-view.js';
import { PersonsPanel } from './persons.js';
import { statusLine } from './status.js';
import { zipPhotos } from './zip-reader.js';

const $ = (id) => document.getElementById(id);
const STATUS_EVERY_MS = 10_000;
const MATCHES_PER_FACE = 5;

let key = loadKey();
$('key-input').value = key;
const view = new FacesView($('photo-frame'), $('faces'));
const threshold = () => Number($('threshold').value);

function say(text, kind = 'error') {
  const message = $('message');
  message.textContent = text;
  message.className = kind;
  message.hidden = !text;
}

async function refreshStatus() {
  if (!key) return void ($('status-text').textContent = 'status: enter an API key');
  try {
    $('status-text').textContent = await statusLine(key);
    $('status').className = 'up';
  } catch (err) {
    $('status-text').textContent = `status: ${err.message}`;
    $('status').className = 'down';
  }
}

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  key = $('key-input').value.trim();
  saveKey(key);
  say('');
  void refreshStatus();
  void persons.refresh();
});

/** The photo's own size once shown (boxes are in its pixels). */
function showPhoto(file) {
  const img = $('photo');
  if (img.src) URL.revokeObjectURL(img.src);
  return new Promise((resolve) => {
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => resolve(undefined);
    img.src = URL.createObjectURL(file);
  });
}

/** The photo last searched: searched again after a delete, so what was deleted leaves the result. */
let searched;

/** Searches `file`; `again` (after a delete): its `minSeq` so the shards have applied it first, and the message left to the caller. */
async function search(file, again) {
  if (!key) return say('Enter an API key first.');
  searched = file;
  if (!again) say(`Searching ${file.name} ...`, 'info');
  view.show(undefined);
  view.render(threshold());
  const form = new FormData();
  form.append('photo', file, file.name);
  form.append('k', String(MATCHES_PER_FACE));
  if (again) form.append('minSeq', JSON.stringify(again.minSeq));
  try {
    const [reply, size] = await Promise.all([callApi('POST', '/v1/search', key, form), showPhoto(file)]);
    $('result').hidden = false;
    view.show(reply, size);
    view.render(threshold());
    if (again) return;
    if (reply.faces.length === 0) say(`No face found in ${file.name}.`);
    else say(`${reply.faces.length} face${reply.faces.length === 1 ? '' : 's'} found in ${file.name} (${Math.round(reply.tookMs)} ms).`, 'info');
  } catch (err) {
    $('result').hidden = true;
    say(err.message);
  }
}

const drop = $('drop');
drop.addEventListener('click', () => $('photo-input').click());
drop.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' && event.key !== ' ') return;
  event.preventDefault();
  $('photo-input').click();
});
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  const file = event.dataTransfer?.files[0];
  if (file) void search(file);
});
$('photo-input').addEventListener('change', () => {
  const file = $('photo-input').files[0];
  if (file) void search(file);
});

$('threshold').addEventListener('input', () => {
  $('threshold-value').textContent = threshold().toFixed(2);
  view.render(threshold());
});

/** What the enroll form holds: picked photos, a folder's photos (by their path in it) and a zip's. */
async function chosenPhotos() {
  const items = [...$('enroll-files').files].map((file) => ({ file, path: file.name }));
  for (const file of $('enroll-folder').files) items.push({ file, path: file.webkitRelativePath || file.name, inPickedFolder: true });
  const problems = [];
  const zip = $('enroll-zip').files[0];
  if (zip) {
    const unpacked = await zipPhotos(zip);
    items.push(...unpacked.photos.map((file) => ({ file, path: file.name })));
    problems.push(...unpacked.skipped.map((why) => `${zip.name}: ${why}`));
  }
  return { items, problems };
}

$('enroll-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const bar = $('enroll-progress');
  const list = $('enroll-problems');
  list.replaceChildren();
  const problems = (texts) => list.append(...texts.map((text) => Object.assign(document.createElement('li'), { textContent: text })));
  try {
    if (!key) throw new Error('Enter an API key first (a writer key).');
    const chosen = await chosenPhotos();
    const { plan, problems: skipped } = enrollPlan(chosen.items, $('person').value, $('person-from-folder').checked);
    problems([...chosen.problems, ...skipped]);
    if (plan.length === 0) throw new Error('No photo to enroll: pick photos, a folder or a zip.');
    bar.hidden = false;
    bar.max = plan.length;
    bar.value = 0;
    const progress = (done, total, stored) => {
      bar.value = done;
      $('enroll-text').textContent = `${done} / ${total} photos sent, ${stored} face${stored === 1 ? '' : 's'} stored`;
    };
    progress(0, plan.length, 0);
    const result = await enrollAll(plan, key, progress);
    problems(result.problems);
    say(`Enrolled: ${result.stored} face${result.stored === 1 ? '' : 's'} stored from ${plan.length} photo${plan.length === 1 ? '' : 's'}.`, 'info');
    void refreshStatus();
    void persons.refresh();
  } catch (err) {
    say(err.message);
  }
});

const persons = new PersonsPanel({
  list: $('persons'),
  text: $('persons-text'),
  heading: $('persons-title'),
  dialog: $('confirm-delete'),
  key: () => key,
  onError: (err) => say(err.message),
  onDeleted: async (person, reply) => {
    const deleted = `Deleted ${person}: ${reply.deleted} face${reply.deleted === 1 ? '' : 's'}${reply.partial ? ' (a shard did not answer: delete again to be sure)' : ''}.`;
    say(`${deleted} Searching again ...`, 'info');
    // Faces outside the shown top k leave it as it is: search again only when the person is in it.
    if (searched && !$('result').hidden && view.shows(person)) await search(searched, { minSeq: reply.seq });
    await persons.refresh();
    void refreshStatus();
    if ($('message').className !== 'error') say(deleted, 'info');
  },
});

void refreshStatus();
void persons.refresh();
setInterval(() => void refreshStatus(), STATUS_EVERY_MS);
