// The Submissions view: a filtered, paginated table. The filters live in the page's own URL
// query (`/ui/submissions?run_id=a&verdict=wrong_answer`), so a view can be shared or
// reloaded; the same query goes to GET /v1/submissions and to the export links.

import { api, ApiError } from './api.js';
import { h, fmtNum, fmtTime, fmtMs, verdictBadge, errorBox } from './dom.js';

export const VERDICTS = {
  math: ['correct', 'incorrect', 'no_answer', 'unparsable'],
  code: ['accepted', 'wrong_answer', 'time_limit_exceeded', 'memory_limit_exceeded', 'output_limit_exceeded',
    'runtime_error', 'compile_error', 'no_code'],
};

// The API's filters, in the order the form shows them.
const FILTERS = ['run_id', 'kind', 'verdict', 'policy', 'min_reward', 'max_reward', 'since', 'until'];
const PAGE_SIZES = [25, 50, 100, 250];

export async function submissionsView(main, params, navigate) {
  const filters = new URLSearchParams();
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) filters.set(name, value);
  }
  const limit = PAGE_SIZES.includes(Number(params.get('limit'))) ? Number(params.get('limit')) : 50;
  const query = new URLSearchParams(filters);
  query.set('limit', String(limit));
  if (params.get('cursor')) query.set('cursor', params.get('cursor'));

  const form = filterForm(filters, limit, navigate);
  main.replaceChildren(h('h1', {}, 'Submissions'), form);

  let page;
  try {
    page = await api(`/v1/submissions?${query}`);
  } catch (error) {
    if (error instanceof ApiError && error.field) {
      form.elements[error.field]?.setAttribute('aria-invalid', 'true');
    }
    main.append(errorBox(error));
    return;
  }

  const exportQuery = filters.toString();
  const sep = exportQuery ? '&' : '';
  main.append(h('p', { class: 'actions' },
    h('span', { class: 'muted' }, `${page.submissions.length} shown${page.next_cursor ? ', more on the next page' : ''}. `),
    'Export all matching: ',
    h('a', { href: `/v1/submissions/export?${exportQuery}${sep}format=jsonl`, id: 'export-jsonl', 'data-download': 'submissions.jsonl' }, 'JSONL'), ' · ',
    h('a', { href: `/v1/submissions/export?${exportQuery}${sep}format=csv`, id: 'export-csv', 'data-download': 'submissions.csv' }, 'CSV')));

  if (page.submissions.length === 0) {
    main.append(h('p', { class: 'muted', id: 'no-rows' }, 'No submission matches these filters.'));
  } else {
    main.append(h('table', { class: 'grid rows', id: 'submissions-table' },
      h('thead', {}, h('tr', {},
        ['Time', 'Run', 'Kind', 'Verdict', 'Reward', 'Extracted', 'Item', 'Judged in'].map((label) =>
          h('th', { scope: 'col', class: label === 'Reward' || label === 'Judged in' ? 'num' : null }, label)))),
      h('tbody', {}, page.submissions.map(row))));
  }

  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  if (params.get('cursor')) {
    const first = new URLSearchParams(params);
    first.delete('cursor');
    pager.append(h('a', { href: `/ui/submissions?${first}`, rel: 'first', id: 'first-page' }, '← First page'));
  }
  if (page.next_cursor) {
    const next = new URLSearchParams(params);
    next.set('cursor', page.next_cursor);
    pager.append(h('a', { href: `/ui/submissions?${next}`, rel: 'next', id: 'next-page' }, 'Next page →'));
  }
  main.append(pager);
}

function row(s) {
  const href = `/ui/submissions/${encodeURIComponent(s.submission_id)}`;
  return h('tr', { 'data-href': href, 'data-verdict': s.verdict, 'data-kind': s.kind },
    h('td', {}, h('a', { href }, h('time', { datetime: s.created_at }, fmtTime(s.created_at)))),
    h('td', {}, s.run_id ?? h('span', { class: 'muted' }, '–')),
    h('td', {}, s.kind),
    h('td', {}, verdictBadge(s.verdict)),
    h('td', { class: 'num' }, fmtNum(s.reward)),
    h('td', { class: 'extracted' }, s.kind === 'math' ? (s.extracted ?? '') : s.extracted ? `${s.extracted.split('\n').length} lines of code` : ''),
    h('td', {}, s.item_id ?? ''),
    h('td', { class: 'num' }, fmtMs(s.elapsed_ms)));
}

function filterForm(filters, limit, navigate) {
  const input = (name, label, attrs = {}) => h('label', {}, label,
    h('input', { name, value: filters.get(name) ?? '', ...attrs }));
  const kind = filters.get('kind') ?? '';
  const verdicts = kind ? VERDICTS[kind] ?? [] : [...VERDICTS.math, ...VERDICTS.code];
  const select = (name, label, options) => h('label', {}, label,
    h('select', { name }, h('option', { value: '' }, 'any'),
      options.map((value) => h('option', { value, selected: filters.get(name) === value }, value))));
  const form = h('form', { class: 'filters', id: 'filters', role: 'search' },
    input('run_id', 'Run', { placeholder: 'any run', size: 18 }),
    select('kind', 'Kind', ['math', 'code']),
    select('verdict', 'Verdict', verdicts),
    input('policy', 'Policy', { placeholder: 'any', size: 8 }),
    input('min_reward', 'Reward ≥', { type: 'number', step: 'any', size: 5 }),
    input('max_reward', 'Reward ≤', { type: 'number', step: 'any', size: 5 }),
    input('since', 'Since', { placeholder: '2026-11-28T00:00:00Z', size: 20 }),
    input('until', 'Until', { placeholder: 'RFC 3339', size: 20 }),
    h('label', {}, 'Per page', h('select', { name: 'limit' },
      PAGE_SIZES.map((n) => h('option', { value: n, selected: n === limit }, String(n))))),
    h('span', { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'), ' ',
      h('a', { href: '/ui/submissions', class: 'button' }, 'Clear')));
  const apply = () => {
    const next = new URLSearchParams();
    for (const name of FILTERS) {
      const value = form.elements[name].value.trim();
      if (value) next.set(name, value);
    }
    if (form.elements.limit.value !== '50') next.set('limit', form.elements.limit.value);
    navigate(`/ui/submissions${next.size ? `?${next}` : ''}`);
  };
  form.addEventListener('submit', (event) => { event.preventDefault(); apply(); });
  // Choices apply at once; text fields on Enter.
  for (const name of ['kind', 'verdict', 'limit']) form.elements[name].addEventListener('change', apply);
  return form;
}
