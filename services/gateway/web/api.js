// Calls to the gateway's /v1 API with the key the page holds, and every error as a sentence a person can act on.

const KEY_STORAGE = 'faceshard.apiKey';

/** The key: from the URL's fragment (#key=..., which never reaches a server) once, then from this tab's sessionStorage. */
export function loadKey() {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('key');
  if (fromFragment) {
    sessionStorage.setItem(KEY_STORAGE, fromFragment);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

export function saveKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}

/** What the page says for each error code the API answers with (the gateway's own message follows it). */
const EXPLAINED = {
  unauthorized: 'The API key was not accepted: enter a valid key above.',
  too_large: 'The file is too large for the gateway.',
  unsupported_media_type: 'Not an image: choose a JPEG, PNG or WebP photo.',
  no_face: 'No face found in the photo.',
  bad_request: 'The gateway refused the request.',
  not_ready: 'The cluster is down: the gateway is not connected to it.',
  no_responders: 'The cluster is down: no service answers.',
  no_shards: 'The cluster is down: no shard answers.',
  timeout: 'The cluster did not answer in time.',
  deadline: 'The cluster did not answer in time.',
  behind: 'The cluster is catching up: try again in a moment.',
  permission_denied: 'The gateway may not ask the cluster that (its NATS identity).',
  internal: 'The gateway failed.',
  busy: 'The cluster is busy: try again in a moment.',
  unreachable: 'The gateway cannot be reached.',
};

/** The sentence for `code`; a key without the role is told what needed more (`action`: "enrolling", "deleting"). */
function explain(code, action) {
  if (code === 'forbidden') return `This key may not do that: ${action ?? 'it'} needs a writer key.`;
  return EXPLAINED[code] ?? `The gateway answered ${code}.`;
}

/** An error from the API (or from reaching it): `code` as the API names it, `text` for a person. */
export class ApiError extends Error {
  constructor(code, detail, action) {
    super(`${explain(code, action)} (${detail})`);
    this.code = code;
  }
}

/** A /v1 call: JSON back, or an ApiError. `body`: FormData or nothing; `action`: what the call does, for the forbidden sentence. */
export async function callApi(method, path, key, body, action) {
  let res;
  try {
    res = await fetch(path, { method, headers: key ? { authorization: `Bearer ${key}` } : {}, body });
  } catch (err) {
    throw new ApiError('unreachable', `cannot reach the gateway: ${err.message}`);
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError(`http_${res.status}`, `an answer that is not JSON: ${text.slice(0, 120)}`);
  }
  if (!res.ok) throw new ApiError(json.error?.code ?? `http_${res.status}`, json.error?.message ?? `HTTP ${res.status}`, action);
  return json;
}
