// The page's router and keyboard. Views are real URLs under /ui/ (the server answers every one
// with this page), so each can be bookmarked, shared and reloaded; links within the UI are
// followed without reloading the page.

import { download, storedKey } from './api.js';
import { errorBox, h } from './dom.js';
import { runsView, runView } from './runs.js';
import { submissionsView } from './submissions.js';
import { submissionView } from './submission.js';

const main = document.getElementById('main');

function route(url) {
  const path = url.pathname.replace(/\/+$/, '');
  const params = url.searchParams;
  let match;
  if (path === '' || path === '/ui' || path === '/ui/runs') return ['runs', () => runsView(main)];
  if ((match = /^\/ui\/runs\/(.+)$/.exec(path))) return ['runs', () => runView(main, decodeURIComponent(match[1]), params)];
  if (path === '/ui/submissions') return ['submissions', () => submissionsView(main, params, navigate)];
  if ((match = /^\/ui\/submissions\/([^/]+)$/.exec(path))) return ['submissions', () => submissionView(main, decodeURIComponent(match[1]))];
  return [null, async () => main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '/ui/runs' }, 'Back to the runs')))];
}

let rendering = 0;

async function render() {
  const ticket = ++rendering;
  const [view, show] = route(new URL(window.location.href));
  for (const link of document.querySelectorAll('header nav a')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.body.dataset.view = view ?? 'none';
  document.body.removeAttribute('data-ready');
  try {
    await show();
  } catch (error) {
    if (ticket === rendering) main.replaceChildren(errorBox(error));
  }
  if (ticket === rendering) {
    document.title = `${main.querySelector('h1')?.textContent ?? 'verdict'} · verdict audit`;
    selected = -1;
    // Tests and assistive tools wait for this: the view has its data.
    document.body.dataset.ready = 'true';
  }
}

export function navigate(href) {
  const url = new URL(href, window.location.href);
  if (url.href !== window.location.href) window.history.pushState(null, '', url);
  render().then(() => main.focus({ preventScroll: true }));
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest('a[href]');
  if (!link || link.target || link.origin !== window.location.origin) return;
  // Exports need the key too when one is set: fetch them through `api()` and save the file.
  if (link.dataset.download !== undefined) {
    if (storedKey()) {
      event.preventDefault();
      download(link.getAttribute('href'), link.dataset.download).catch((error) => main.prepend(errorBox(error)));
    }
    return;
  }
  if (!link.pathname.startsWith('/ui') && link.pathname !== '/') return;
  event.preventDefault();
  navigate(link.href);
});

window.addEventListener('popstate', () => render());

// Keyboard: single keys, and `g` followed by a view's letter.
let selected = -1;
let pendingG = false;

function rows() {
  return [...main.querySelectorAll('tr[data-href]')];
}

function select(index) {
  const all = rows();
  if (all.length === 0) return;
  selected = Math.max(0, Math.min(all.length - 1, index));
  all.forEach((row, i) => row.classList.toggle('selected', i === selected));
  all[selected].querySelector('a')?.focus({ preventScroll: true });
  all[selected].scrollIntoView({ block: 'nearest' });
}

document.addEventListener('keydown', (event) => {
  if (event.metaKey || event.ctrlKey || event.altKey) return;
  const typing = event.target.closest?.('input, textarea, select, [contenteditable]');
  if (typing) {
    if (event.key === 'Escape') event.target.blur();
    return;
  }
  if (document.querySelector('dialog[open]')) return;
  const key = event.key;
  if (pendingG) {
    pendingG = false;
    if (key === 'r') { navigate('/ui/runs'); event.preventDefault(); }
    if (key === 's') { navigate('/ui/submissions'); event.preventDefault(); }
    return;
  }
  const actions = {
    g: () => { pendingG = true; setTimeout(() => { pendingG = false; }, 1500); },
    '?': () => document.getElementById('help').showModal(),
    '/': () => main.querySelector('form.filters input, form.filters select')?.focus(),
    j: () => select(selected + 1),
    k: () => select(selected - 1),
    Enter: () => { const row = rows()[selected]; if (row) navigate(row.dataset.href); },
    n: () => { const next = main.querySelector('a[rel=next]'); if (next) navigate(next.href); },
    p: () => { const first = main.querySelector('a[rel=first]'); if (first) navigate(first.href); },
    t: () => { const think = main.querySelector('#think'); if (think) think.open = !think.open; },
    v: () => main.querySelector('#reverify')?.click(),
  };
  if (key === 'Enter' && selected < 0) return;
  const action = actions[key];
  if (action) {
    event.preventDefault();
    action();
  }
});

document.getElementById('show-keys').addEventListener('click', () => document.getElementById('help').showModal());

// Clicking a table row (not only its link) opens it.
main.addEventListener('click', (event) => {
  const row = event.target.closest('tr[data-href]');
  if (row && !event.target.closest('a, button, input, select')) navigate(row.dataset.href);
});

render();
