// Every data request of the page goes through `api()`: it adds the API key the user gave (kept
// in this tab's session storage) and, when the server answers 401 or 403, asks for a key and
// tries again. The page and its assets need no key; the JSON under /v1/ may.

const KEY = 'verdict.apiKey';

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

// One prompt at a time: requests refused together wait for the same answer.
let pendingKey = null;

export function storedKey() {
  return sessionStorage.getItem(KEY);
}

/** Fetches `path` from this server. Returns the parsed JSON, or the Response with `raw`. */
export async function api(path, { method = 'GET', body, raw = false } = {}) {
  for (;;) {
    const headers = { Accept: raw ? '*/*' : 'application/json' };
    const key = storedKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401 || response.status === 403) {
      const problem = await readError(response);
      const given = await askForKey(response.status, problem.message);
      if (given === null) throw new ApiError(response.status, problem.message || 'An API key is needed');
      continue;
    }
    if (!response.ok) {
      const problem = await readError(response);
      throw new ApiError(response.status, problem.message, problem.field);
    }
    return raw ? response : response.json();
  }
}

async function readError(response) {
  try {
    const body = await response.json();
    return { message: body?.error?.message ?? response.statusText, field: body?.error?.field };
  } catch {
    return { message: `${response.status} ${response.statusText}` };
  }
}

function askForKey(status, message) {
  if (pendingKey) return pendingKey;
  const dialog = document.getElementById('auth');
  const input = document.getElementById('auth-key');
  const reason = document.getElementById('auth-reason');
  reason.textContent = status === 403
    ? `The key given may not do this (${message || 'forbidden'}). Give another key.`
    : `This server needs an API key (${message || 'unauthorized'}).`;
  input.value = '';
  pendingKey = new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      pendingKey = null;
      const key = input.value.trim();
      if (dialog.returnValue === 'ok' && key) {
        sessionStorage.setItem(KEY, key);
        resolve(key);
      } else {
        resolve(null);
      }
    }, { once: true });
  });
  dialog.showModal();
  input.focus();
  return pendingKey;
}

/** A download of `path` through `api()`, for export links when a key must be sent. */
export async function download(path, filename) {
  const response = await api(path, { raw: true });
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
