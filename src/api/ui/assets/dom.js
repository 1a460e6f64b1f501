// Small DOM helpers. Text always goes in as text nodes, never as HTML: completions, prompts
// and test output are untrusted, and the page must not render markup hidden in them.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function fmtTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function fmtNum(value, digits = 3) {
  if (value === undefined || value === null || Number.isNaN(value)) return '–';
  return Number(value).toFixed(digits).replace(/\.?0+$/, '') || '0';
}

export function pct(rate) {
  if (rate === undefined || rate === null) return '–';
  return `${(rate * 100).toFixed(1)}%`;
}

export function fmtMs(ms) {
  if (ms === undefined || ms === null) return '–';
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

const GOOD = new Set(['correct', 'accepted']);
const EMPTY = new Set(['no_answer', 'no_code', 'unparsable']);

export function verdictBadge(verdict) {
  const tone = GOOD.has(verdict) ? 'good' : EMPTY.has(verdict) ? 'empty' : verdict === 'error' ? 'error' : 'bad';
  return h('span', { class: `badge ${tone}`, 'data-verdict': verdict }, verdict);
}

export function errorBox(error) {
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, error.status ? `Error ${error.status}: ` : 'Error: '),
    error.message ?? String(error));
}

export function section(title, ...children) {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...children);
}
