// A searched photo: a box on every face found, and per face its matches with person, distance and verdict.
import { loadKey } from './api.js';
import { verdictAt, whoText } from './who.js';

/**
 * A match's thumbnail, as an <img> src. The gateway wants the API key in a header, which an
 * <img src> cannot send, and a key in the URL would land in access logs, the history and
 * Referer headers; so each thumbnail is fetched with the key (as every other call) and shown
 * from a blob: URL. Until it arrives, and for a face stored without one (404), the src is a
 * placeholder picture of the person's initials, swapped for the thumbnail when it comes.
 */
export function thumbnailUrl(match) {
  const loaded = thumbnails.get(match.id);
  if (typeof loaded === 'string') return loaded;
  const placeholder = placeholderUrl(match);
  if (loaded === undefined) thumbnails.set(match.id, loadThumbnail(match.id, placeholder));
  return placeholder;
}

/** Face id -> its blob: URL once loaded, a promise while loading, null when it has none. */
const thumbnails = new Map();

async function loadThumbnail(id, placeholder) {
  const key = loadKey();
  try {
    const res = await fetch(`/v1/faces/${encodeURIComponent(id)}/thumbnail`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    if (!res.ok) {
      // 404: this face has no thumbnail; anything else (a wrong key, the cluster away) is tried again at the next render.
      if (res.status === 404) thumbnails.set(id, null);
      else thumbnails.delete(id);
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    thumbnails.set(id, url);
    for (const img of document.querySelectorAll('img.thumb')) if (img.getAttribute('src') === placeholder) img.src = url;
  } catch {
    thumbnails.delete(id);
  }
}

const xmlEscape = (text) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The initials on grey as an SVG picture; it names the face id, so the picture that replaces it finds its <img>. */
function placeholderUrl(match) {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><desc>${xmlEscape(match.id)}</desc><rect width="40" height="40" fill="#cfd6df"/>` +
    `<text x="20" y="25" font-family="sans-serif" font-size="14" font-weight="bold" text-anchor="middle">${xmlEscape(initials(personOf(match) ?? match.id))}</text></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/** Who a match is: its meta.person, else its id. */
const personOf = (match) => (typeof match.meta?.person === 'string' ? match.meta.person : undefined);

function initials(name) {
  const words = name.split(/[\s_\-.]+/).filter(Boolean);
  return (words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] ?? '?').slice(0, 2)).toUpperCase();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Draws `reply` (POST /v1/search's answer for a photo) over the shown image and lists its faces; `render(threshold)` re-judges without a new request. */
export class FacesView {
  constructor(frame, list) {
    this.frame = frame;
    this.list = list;
    this.reply = undefined;
    this.size = undefined;
  }

  show(reply, size) {
    this.reply = reply;
    this.size = size;
  }

  /** Whether a match of `person` is shown. */
  shows(person) {
    return this.reply?.faces.some((face) => face.matches.some((match) => personOf(match) === person)) ?? false;
  }

  render(threshold) {
    for (const box of this.frame.querySelectorAll('.box')) box.remove();
    this.list.replaceChildren();
    if (!this.reply) return;
    const { width, height } = this.size;
    this.reply.faces.forEach((face, i) => {
      const best = face.matches[0];
      const same = best !== undefined && best.distance <= threshold;
      const box = el('div', { class: `box ${same ? 'same' : 'other'}`, 'data-face': String(i + 1), 'aria-hidden': 'true' });
      box.style.left = `${(face.box.x / width) * 100}%`;
      box.style.top = `${(face.box.y / height) * 100}%`;
      box.style.width = `${(face.box.width / width) * 100}%`;
      box.style.height = `${(face.box.height / height) * 100}%`;
      this.frame.append(box);
      this.list.append(this.faceItem(face, i, threshold));
    });
  }

  faceItem(face, i, threshold) {
    const matches = el('ol', { class: 'matches' });
    for (const match of face.matches) {
      const person = personOf(match);
      const same = match.distance <= threshold;
      const url = thumbnailUrl(match);
      const thumb = url
        ? el('img', { class: 'thumb', src: url, alt: '' })
        : el('span', { class: 'thumb', 'aria-hidden': 'true' }, initials(person ?? match.id));
      matches.append(
        el(
          'li',
          { class: `match ${same ? 'same' : 'other'}` },
          thumb,
          el('span', { class: 'person' }, person ?? '(no person)'),
          el('span', { class: 'distance' }, match.distance.toFixed(3)),
          el('span', { class: 'verdict' }, same ? 'same person' : 'not the same'),
          el('span', { class: 'id' }, match.id),
        ),
      );
    }
    const heading = el('h3', {}, `Face ${i + 1}`, el('small', {}, ` score ${face.score.toFixed(2)}`));
    const verdict = verdictAt(face.who, threshold);
    const who = el('p', { class: 'who', 'data-verdict': verdict.kind }, 'Who is this: ', el('strong', {}, whoText(verdict, threshold)));
    return el('li', { class: 'face' }, heading, who, face.matches.length ? matches : el('p', {}, 'No stored face to compare with yet: enroll someone.'));
  }
}
