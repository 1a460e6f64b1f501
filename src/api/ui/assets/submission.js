// One submission, whole: prompt, the thinking (collapsed), the answer part with the extracted
// answer marked, the evidence (math: parsed gold and prediction and the deciding rule; code:
// highlighted code and every test with expected against actual output, the first difference
// marked), reward components, re-checks, and a button that judges it again with today's code.

import { api } from './api.js';
import { h, fmtNum, fmtTime, fmtMs, verdictBadge, errorBox, section } from './dom.js';
import { highlight } from './highlight.js';

const enc = encodeURIComponent;

export async function submissionView(main, id) {
  const s = await api(`/v1/submissions/${enc(id)}`);
  const runLink = s.run_id ? h('a', { href: `/ui/runs/${enc(s.run_id)}` }, s.run_id) : '–';
  main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '/ui/submissions' }, 'Submissions'), ' / ',
      s.run_id ? h('a', { href: `/ui/submissions?run_id=${enc(s.run_id)}` }, s.run_id) : null),
    h('h1', {}, verdictBadge(s.verdict), ' ', h('span', { class: 'reward' }, `reward ${fmtNum(s.reward)}`), ' ',
      h('span', { class: 'muted' }, `${s.kind} item ${s.item_id ?? ''}`)),
    h('dl', { class: 'meta' },
      meta('Submission', h('code', {}, s.submission_id)), meta('Run', runLink),
      meta('Policy', `${s.policy_version}`), meta('Service', s.service_version),
      meta('Created', h('time', { datetime: s.created_at }, fmtTime(s.created_at))),
      meta('Judged in', fmtMs(s.elapsed_ms)), meta('Format', s.format_ok ? 'ok' : 'not ok')),
    h('p', { class: 'actions' },
      h('button', { type: 'button', id: 'reverify', class: 'primary', title: 'Judge again with today\'s verifier (v)' }, 'Re-verify'), ' ',
      h('a', { href: `/v1/submissions/${enc(s.submission_id)}`, id: 'export-one', 'data-download': `${s.submission_id}.json` }, 'This submission as JSON'),
      s.run_id ? [' · ', h('a', { href: `/v1/submissions/export?run_id=${enc(s.run_id)}&format=jsonl`, 'data-download': 'submissions.jsonl' }, 'Its run as JSONL'),
        ' · ', h('a', { href: `/v1/submissions/export?run_id=${enc(s.run_id)}&format=csv`, 'data-download': 'submissions.csv' }, 'CSV')] : null),
    h('div', { id: 'reverify-result', 'aria-live': 'polite' }),
    section('Reward', components(s)),
    s.prompt ? section('Prompt', h('div', { class: 'text', id: 'prompt' }, s.prompt)) : null,
    completion(s),
    s.kind === 'math' ? mathEvidence(s) : codeEvidence(s),
    reverifications(s.reverifications),
    section('Task as sent', h('details', {}, h('summary', {}, 'JSON'), h('pre', { class: 'json' }, JSON.stringify(s.task, null, 2)))),
  );
  main.querySelector('#reverify').addEventListener('click', () => reverify(main, s));
}

function meta(label, value) {
  return h('div', {}, h('dt', {}, label), h('dd', {}, value));
}

function components(s) {
  const entries = Object.entries(s.components ?? {});
  return h('table', { class: 'grid compact', id: 'components' },
    h('tbody', {}, entries.map(([name, value]) => h('tr', {}, h('th', { scope: 'row' }, name), h('td', { class: 'num' }, fmtNum(value)))),
      h('tr', { class: 'total' }, h('th', { scope: 'row' }, 'total'), h('td', { class: 'num' }, fmtNum(s.reward)))));
}

/** The completion cut at the last `</think>`: thinking before it, the answer part after. */
export function splitCompletion(text) {
  const close = text.lastIndexOf('</think>');
  if (close === -1) return { think: null, answer: text };
  const open = text.indexOf('<think>');
  const think = open !== -1 && open < close ? text.slice(open + '<think>'.length, close) : text.slice(0, close);
  return { think, answer: text.slice(close + '</think>'.length) };
}

function completion(s) {
  const { think, answer } = splitCompletion(s.completion);
  const parts = [];
  if (think !== null) {
    const lines = think.split('\n').length;
    parts.push(h('details', { class: 'think', id: 'think' },
      h('summary', {}, `Thinking — ${lines.toLocaleString()} line${lines === 1 ? '' : 's'}, ${think.length.toLocaleString()} characters (t)`),
      h('div', { class: 'text' }, think.trim())));
  }
  const language = s.details?.language ?? s.task?.language ?? 'python';
  const answerBox = h('div', { class: 'text answer', id: 'answer' });
  const at = s.extracted ? answer.lastIndexOf(s.extracted) : -1;
  if (at === -1) {
    answerBox.append(answer.trim() ? answer : h('span', { class: 'muted' }, '(empty answer part)'));
  } else if (s.kind === 'code') {
    answerBox.append(answer.slice(0, at),
      h('figure', { class: 'code extracted', id: 'extracted-code' },
        h('figcaption', {}, `Extracted ${language} code`),
        h('pre', {}, h('code', { class: `lang-${language}` }, highlight(s.extracted, language)))),
      answer.slice(at + s.extracted.length));
  } else {
    answerBox.append(answer.slice(0, at), h('mark', { class: 'extracted', id: 'extracted', title: 'The extracted answer' }, s.extracted),
      answer.slice(at + s.extracted.length));
  }
  parts.push(h('h3', {}, 'Answer part'), answerBox);
  if (s.extracted && at === -1) parts.push(h('p', { class: 'muted small' }, 'Extracted: ', h('code', {}, s.extracted)));
  if (!s.extracted) parts.push(h('p', { class: 'muted small' }, s.kind === 'math' ? 'No answer could be extracted.' : 'No code block could be extracted.'));
  return section('Completion', parts);
}

function mathEvidence(s) {
  const d = s.details ?? {};
  const rows = [
    ['Gold, as given', h('code', {}, String(s.task?.answer ?? ''))],
    ['Gold, parsed', h('code', { id: 'gold-parsed' }, d.gold ?? '–')],
    ['Prediction, extracted', s.extracted ? h('code', {}, s.extracted) : '–'],
    ['Prediction, parsed', h('code', { id: 'predicted-parsed' }, d.predicted ?? '–')],
    ['Deciding rule', h('strong', { id: 'method' }, d.method ?? '–')],
  ];
  if (d.parse_error) rows.push(['Parse error', h('span', { class: 'bad' }, d.parse_error)]);
  if (d.format_error) rows.push(['Format', d.format_error]);
  if (d.answer_source) rows.push(['Answer source', d.answer_source]);
  if (d.distinct_boxed_answers) rows.push(['Distinct boxed answers', String(d.distinct_boxed_answers)]);
  return section('Math evidence', h('table', { class: 'grid compact', id: 'math-evidence' },
    h('tbody', {}, rows.map(([label, value]) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, value))))));
}

function codeEvidence(s) {
  const d = s.details ?? {};
  const tests = d.tests ?? [];
  const summary = h('p', {}, `${d.passed ?? 0} of ${d.total ?? tests.length} tests passed`,
    d.language ? ` (${d.language})` : '', d.format_error ? h('span', { class: 'muted' }, ` · format: ${d.format_error}`) : null);
  return section('Tests', summary, h('div', { id: 'tests' }, tests.map((t) => testCard(t, s.task))));
}

function testInput(task, index) {
  if (Array.isArray(task?.tests) && task.tests[index]) return ['stdin', task.tests[index].stdin ?? ''];
  if (Array.isArray(task?.cases) && task.cases[index]) return [`${task.fn_name}(…) with`, JSON.stringify(task.cases[index].args)];
  if (task?.assert) return ['check', task.assert];
  return null;
}

function testCard(t, task) {
  const failed = t.status !== 'accepted';
  const input = testInput(task, t.index);
  const difference = t.difference ?? (failed && t.expected !== undefined ? firstDifference(t.expected, t.actual) : null);
  return h('article', { class: `test ${failed ? 'failed' : 'passed'}`, 'data-status': t.status, id: `test-${t.index}` },
    h('h3', {}, `Test ${t.index + 1} `, verdictBadge(t.status), h('span', { class: 'muted' }, ` ${fmtMs(t.time_ms)}`,
      t.exit_code !== undefined ? ` · exit ${t.exit_code}` : '',
      t.fuel !== undefined ? ` · ${t.fuel.toLocaleString('en')} instructions` : '')),
    t.note ? h('p', { class: 'note' }, t.note) : null,
    input ? h('details', { open: failed }, h('summary', {}, `Input (${input[0]})`), h('pre', {}, input[1])) : null,
    t.expected !== undefined
      ? h('div', { class: 'compare' },
        h('div', {}, h('h4', {}, 'Expected'), h('pre', { class: 'expected' }, marked(t.expected, difference))),
        h('div', {}, h('h4', {}, 'Actual'), h('pre', { class: 'actual' }, marked(t.actual, difference))))
      : h('div', {}, h('h4', {}, 'Output'), h('pre', { class: 'actual' }, t.actual || h('span', { class: 'muted' }, '(none)'))),
    difference ? h('p', { class: 'diff-note' },
      `First difference at line ${difference.line}, column ${difference.column}: expected `,
      h('code', {}, JSON.stringify(difference.expected)), ', got ', h('code', {}, JSON.stringify(difference.actual))) : null,
    t.stderr ? [h('h4', {}, 'stderr'), h('pre', { class: 'stderr' }, t.stderr)] : null);
}

/** Where two texts first differ, as 1-based line and column (in characters). */
export function firstDifference(expected, actual) {
  const a = expected.replace(/\r\n?/g, '\n').split('\n');
  const b = actual.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    if (a[i] === b[i]) continue;
    const x = Array.from(a[i] ?? '');
    const y = Array.from(b[i] ?? '');
    let column = 0;
    while (column < x.length && column < y.length && x[column] === y[column]) column += 1;
    return { line: i + 1, column: column + 1, expected: a[i] ?? '', actual: b[i] ?? '' };
  }
  return null;
}

/** `text` with the rest of the line from the first difference marked. */
function marked(text, difference) {
  const fragment = document.createDocumentFragment();
  if (!difference) {
    fragment.append(text);
    return fragment;
  }
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const index = difference.line - 1;
  if (index >= lines.length) {
    fragment.append(text, h('mark', { class: 'diff missing', title: `No line ${difference.line}` }, '∅'));
    return fragment;
  }
  const before = lines.slice(0, index).map((line) => `${line}\n`).join('');
  const chars = Array.from(lines[index]);
  const head = chars.slice(0, difference.column - 1).join('');
  const rest = chars.slice(difference.column - 1).join('');
  const after = lines.slice(index + 1).map((line) => `\n${line}`).join('');
  fragment.append(before, head,
    rest ? h('mark', { class: 'diff' }, rest) : h('mark', { class: 'diff missing', title: 'The line ends here' }, '∅'),
    after);
  return fragment;
}

function reverifications(list) {
  const body = h('tbody', { id: 'reverifications' }, (list ?? []).map(recheckRow));
  return section('Re-checks', h('table', { class: 'grid compact' },
    h('thead', {}, h('tr', {}, ['When', 'Was', 'Now', 'Drift', 'Service'].map((l) => h('th', { scope: 'col' }, l)))), body),
  (list ?? []).length ? null : h('p', { class: 'muted small', id: 'no-rechecks' }, 'Not re-checked yet.'));
}

function recheckRow(r) {
  return h('tr', { class: r.drifted ? 'drifted' : '' },
    h('td', {}, fmtTime(r.created_at)),
    h('td', {}, verdictBadge(r.old_verdict), ` ${fmtNum(r.old_reward)}`),
    h('td', {}, verdictBadge(r.new_verdict), ` ${fmtNum(r.new_reward)}`),
    h('td', {}, r.drifted ? h('strong', { class: 'bad' }, 'drifted') : 'none'),
    h('td', {}, r.service_version));
}

export async function reverify(main, s) {
  const button = main.querySelector('#reverify');
  const out = main.querySelector('#reverify-result');
  button.disabled = true;
  out.replaceChildren(h('p', { class: 'muted' }, 'Judging again…'));
  try {
    const r = await api(`/v1/submissions/${enc(s.submission_id)}/reverify`, { method: 'POST' });
    out.replaceChildren(h('div', { class: `result ${r.drifted ? 'drift' : 'steady'}`, 'data-drifted': String(r.drifted) },
      h('strong', {}, r.drifted ? 'Drift: today\'s verifier disagrees. ' : 'No drift: today\'s verifier agrees. '),
      'Stored ', verdictBadge(r.old.verdict), ` reward ${fmtNum(r.old.reward)} (${r.old.service_version}); now `,
      verdictBadge(r.new.verdict), ` reward ${fmtNum(r.new.reward)} (${r.new.service_version}).`));
    main.querySelector('#no-rechecks')?.remove();
    main.querySelector('#reverifications').append(recheckRow({
      created_at: new Date().toISOString(), old_verdict: r.old.verdict, old_reward: r.old.reward,
      new_verdict: r.new.verdict, new_reward: r.new.reward, drifted: r.drifted, service_version: r.new.service_version,
    }));
  } catch (error) {
    out.replaceChildren(errorBox(error));
  } finally {
    button.disabled = false;
  }
}
