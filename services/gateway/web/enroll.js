// Enrolling: which person and name each chosen photo gets, then POST /v1/enroll photo by photo with progress.
import { ApiError, callApi } from './api.js';

const PHOTO = /\.(jpe?g|png|webp)$/i;

/**
 * The photos to send, each with its person and its name (the id's `<person>/<name>#<face>`).
 * `items`: {file, path} with `path` inside what was picked (a folder's first segment is the folder itself).
 * `fromFolder`: the person is the folder directly holding the photo (Ada/1.jpg), as in LFW; else `person` for all.
 */
export function enrollPlan(items, person, fromFolder) {
  const plan = [];
  const problems = [];
  for (const { file, path, inPickedFolder } of items) {
    const parts = path.split('/').filter(Boolean);
    if (!PHOTO.test(path)) {
      problems.push(`${path}: not a .jpg, .png or .webp photo, skipped`);
    } else if (fromFolder) {
      if (parts.length < 2) problems.push(`${path}: not in a person's folder (Ada/1.jpg), skipped`);
      else plan.push({ file, person: parts[parts.length - 2], name: parts[parts.length - 1] });
    } else {
      plan.push({ file, person, name: (inPickedFolder ? parts.slice(1) : parts).join('/') });
    }
  }
  if (!fromFolder && plan.length && !person.trim()) throw new Error('Enter the person\'s name (or tick "person from each photo\'s folder").');
  return { plan, problems };
}

/** Sends the plan photo by photo; `progress(done, total, stored)` after each; answers the faces stored and the problems. */
export async function enrollAll(plan, key, progress) {
  let stored = 0;
  const problems = [];
  for (let i = 0; i < plan.length; i++) {
    const { file, person, name } = plan[i];
    const form = new FormData();
    form.append('person', person);
    form.append('name', name);
    form.append('photo', file, file.name);
    try {
      const reply = await callApi('POST', '/v1/enroll', key, form, 'enrolling');
      stored += reply.accepted;
    } catch (err) {
      // A wrong key or a cluster that is down fails every photo alike: stop at the first.
      if (err instanceof ApiError && ['unauthorized', 'forbidden', 'unreachable', 'not_ready', 'no_responders'].includes(err.code)) throw err;
      problems.push(`${person}/${name}: ${err.message}`);
    }
    progress(i + 1, plan.length, stored);
  }
  return { stored, problems };
}
