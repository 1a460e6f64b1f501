// The run chart: mean reward (left axis) and accuracy and format rates (right axis, 0–100%)
// per time bucket, drawn as inline SVG. Lines break where buckets are missing, so a pause in
// a run shows as a gap rather than as a slope.

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

function niceCeiling(value) {
  if (value <= 1) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

function shortTime(ms, spanMs) {
  const date = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (spanMs < 120_000) return `${clock}:${pad(date.getSeconds())}`;
  if (spanMs < 2 * 86_400_000) return clock;
  return `${date.getMonth() + 1}/${date.getDate()} ${clock}`;
}

export function timelineChart(timeline, { width = 880, height = 280 } = {}) {
  const margin = { top: 40, right: 56, bottom: 36, left: 52 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const buckets = timeline.buckets.map((b) => ({
    ...b,
    startMs: Date.parse(b.start),
    endMs: Date.parse(b.end),
  }));
  const t0 = Date.parse(timeline.first_seen);
  const t1 = Math.max(t0 + timeline.bucket_ms, ...buckets.map((b) => b.endMs));
  const span = t1 - t0 || 1;
  const rewardMax = niceCeiling(Math.max(0, ...buckets.map((b) => b.mean_reward)));
  const rewardMin = Math.min(0, ...buckets.map((b) => b.mean_reward));
  const x = (ms) => margin.left + ((ms - t0) / span) * plotW;
  const yReward = (v) => margin.top + plotH - ((v - rewardMin) / (rewardMax - rewardMin || 1)) * plotH;
  const yRate = (v) => margin.top + plotH - v * plotH;

  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'chart',
    role: 'img',
    'aria-label': `Mean reward and accuracy of run ${timeline.run_id} over time`,
  });
  root.append(svg('title', {}, `Run ${timeline.run_id}: mean reward and rates per bucket`));

  // Grid and axes: five steps on each side.
  const grid = svg('g', { class: 'grid' });
  for (let i = 0; i <= 4; i += 1) {
    const y = margin.top + (plotH * i) / 4;
    grid.append(svg('line', { x1: margin.left, x2: margin.left + plotW, y1: y, y2: y }));
    const reward = rewardMax - ((rewardMax - rewardMin) * i) / 4;
    grid.append(svg('text', { x: margin.left - 6, y: y + 4, class: 'axis left' }, Number(reward.toFixed(2))));
    grid.append(svg('text', { x: margin.left + plotW + 6, y: y + 4, class: 'axis right' }, `${100 - i * 25}%`));
  }
  for (let i = 0; i <= 4; i += 1) {
    const ms = t0 + (span * i) / 4;
    grid.append(svg('text', { x: x(ms), y: height - 12, class: 'axis bottom' }, shortTime(ms, span)));
  }
  grid.append(svg('text', { x: 4, y: margin.top - 8, class: 'axis label' }, 'reward'));
  grid.append(svg('text', { x: width - 4, y: margin.top - 8, class: 'axis label end' }, 'rate'));
  root.append(grid);

  const series = [
    { key: 'mean_reward', name: 'mean reward', cls: 'reward', y: yReward, fmt: (v) => v.toFixed(3) },
    { key: 'accuracy_rate', name: 'accuracy', cls: 'accuracy', y: yRate, fmt: (v) => `${(v * 100).toFixed(1)}%` },
    { key: 'format_rate', name: 'format', cls: 'format', y: yRate, fmt: (v) => `${(v * 100).toFixed(1)}%` },
  ];
  for (const s of series) {
    let path = '';
    let previousEnd = null;
    const group = svg('g', { class: `series ${s.cls}` });
    for (const b of buckets) {
      const px = x((b.startMs + b.endMs) / 2);
      const py = s.y(b[s.key]);
      path += `${previousEnd === b.startMs ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)} `;
      previousEnd = b.endMs;
      group.append(svg('circle', { cx: px.toFixed(1), cy: py.toFixed(1), r: 3 },
        svg('title', {}, `${new Date(b.startMs).toLocaleString()}: ${s.name} ${s.fmt(b[s.key])} over ${b.count} submissions`)));
    }
    group.prepend(svg('path', { d: path.trim() || 'M0,0' }));
    root.append(group);
  }

  const legend = svg('g', { class: 'legend', transform: `translate(${margin.left}, 6)` });
  series.forEach((s, i) => {
    const item = svg('g', { class: `series ${s.cls}`, transform: `translate(${i * 120}, 0)` });
    item.append(svg('line', { x1: 0, x2: 18, y1: 6, y2: 6 }), svg('text', { x: 24, y: 10 }, s.name));
    legend.append(item);
  });
  root.append(legend);
  return root;
}
