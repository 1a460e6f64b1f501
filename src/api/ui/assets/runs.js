// The Runs view (every run with its aggregates) and one run (its chart and verdicts).

import { api } from './api.js';
import { h, fmtNum, fmtTime, pct, verdictBadge, section } from './dom.js';
import { timelineChart } from './chart.js';

const enc = encodeURIComponent;

export async function runsView(main) {
  const { runs } = await api('/v1/runs?limit=1000');
  main.replaceChildren(h('h1', {}, 'Runs'));
  if (runs.length === 0) {
    main.append(h('p', { class: 'muted' }, 'No runs yet. Runs appear when a batch is sent to POST /v1/rewards with a run_id.'));
    return;
  }
  const rows = runs.map((run) => h('tr', { 'data-href': `/ui/runs/${enc(run.run_id)}` },
    h('td', {}, h('a', { href: `/ui/runs/${enc(run.run_id)}` }, run.run_id), run.keep ? h('span', { class: 'tag', title: 'Retention never deletes this run' }, 'kept') : null),
    h('td', { class: 'num' }, h('a', { href: `/ui/submissions?run_id=${enc(run.run_id)}`, title: 'Submissions of this run' }, run.count.toLocaleString())),
    h('td', { class: 'num' }, fmtNum(run.mean_reward)),
    h('td', { class: 'num' }, pct(run.accuracy_rate)),
    h('td', { class: 'num' }, pct(run.format_rate)),
    h('td', {}, verdictSummary(run)),
    h('td', {}, h('time', { datetime: run.last_seen }, fmtTime(run.last_seen)))));
  main.append(h('table', { class: 'grid rows', id: 'runs-table' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Run'), h('th', { scope: 'col', class: 'num' }, 'Submissions'),
      h('th', { scope: 'col', class: 'num' }, 'Mean reward'), h('th', { scope: 'col', class: 'num' }, 'Accuracy'),
      h('th', { scope: 'col', class: 'num' }, 'Format'), h('th', { scope: 'col' }, 'Verdicts'),
      h('th', { scope: 'col' }, 'Last seen'))),
    h('tbody', {}, rows)));
}

function verdictSummary(run) {
  const entries = Object.entries(run.verdicts).sort((a, b) => b[1] - a[1]);
  return h('span', { class: 'verdicts' }, entries.map(([verdict, n]) =>
    h('a', { href: `/ui/submissions?run_id=${enc(run.run_id)}&verdict=${enc(verdict)}`, class: 'verdict-count' },
      verdictBadge(verdict), ` ${n}`)));
}

export async function runView(main, runId, params) {
  const buckets = Number(params.get('buckets')) || 50;
  const [run, timeline] = await Promise.all([
    api(`/v1/runs/${enc(runId)}`),
    api(`/v1/runs/${enc(runId)}/timeline?buckets=${buckets}`),
  ]);
  const filter = `run_id=${enc(runId)}`;
  main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '/ui/runs' }, 'Runs'), ' / '),
    h('h1', {}, run.run_id, run.keep ? h('span', { class: 'tag' }, 'kept') : null),
    h('dl', { class: 'stats' },
      stat('Submissions', run.count.toLocaleString()),
      stat('Mean reward', fmtNum(run.mean_reward)),
      stat('Accuracy', pct(run.accuracy_rate)),
      stat('Format', pct(run.format_rate)),
      stat('First seen', fmtTime(run.first_seen)),
      stat('Last seen', fmtTime(run.last_seen))),
    h('p', { class: 'actions' },
      h('a', { href: `/ui/submissions?${filter}`, class: 'button' }, 'Submissions of this run'), ' ',
      h('a', { href: `/v1/submissions/export?${filter}&format=jsonl`, 'data-download': 'submissions.jsonl' }, 'Export JSONL'), ' · ',
      h('a', { href: `/v1/submissions/export?${filter}&format=csv`, 'data-download': 'submissions.csv' }, 'Export CSV')),
    section('Reward and accuracy over time',
      h('p', { class: 'muted small' },
        `${timeline.buckets.length} of ${buckets} buckets of ${duration(timeline.bucket_ms)} hold submissions. Resolution: `,
        [20, 50, 100].map((n) => [n === buckets ? h('strong', {}, String(n)) : h('a', { href: `/ui/runs/${enc(runId)}?buckets=${n}` }, String(n)), ' '])),
      h('div', { class: 'chart-box', id: 'run-chart' }, timelineChart(timeline))),
    section('Verdicts', verdictBars(run)));
}

function duration(ms) {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${fmtNum(ms / 1000, 1)} s`;
  if (ms < 7_200_000) return `${fmtNum(ms / 60_000, 1)} min`;
  return `${fmtNum(ms / 3_600_000, 1)} h`;
}

function stat(label, value) {
  return h('div', {}, h('dt', {}, label), h('dd', {}, value));
}

function verdictBars(run) {
  const max = Math.max(1, ...Object.values(run.verdicts));
  return h('table', { class: 'bars' }, h('tbody', {}, Object.entries(run.verdicts).sort((a, b) => b[1] - a[1]).map(([verdict, n]) =>
    h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: `/ui/submissions?run_id=${enc(run.run_id)}&verdict=${enc(verdict)}` }, verdictBadge(verdict))),
      h('td', { class: 'num' }, n.toLocaleString()),
      h('td', { class: 'bar-cell' }, h('meter', { min: 0, max, value: n, title: `${pct(n / run.count)} of the run` }))))));
}
