import { renderFractions } from './ceiling.ts';
import { renderSummary, type BenchReport } from './report.ts';
import { ROLES } from './resources.ts';

/**
 * The HTML report: one self-contained file, charts drawn as inline SVG here, CSS inline, no
 * script and no external resource, so it opens offline and in any browser or mail client.
 */

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logY?: boolean;
  /** Category labels for x (used by percentile charts: x = index). */
  xCategories?: string[];
  width?: number;
  height?: number;
}

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** 1, 2, 5 × 10^n ticks covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  // From the first step at or above min to the first at or above max, so the axis covers the data.
  for (let v = Math.ceil(min / step - 1e-9) * step; ; v += step) {
    ticks.push(Math.round(v * 1e9) / 1e9 + 0);
    if (v >= max - step * 1e-9) break;
  }
  return ticks;
}

const label = (v: number) => {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Math.round(v / 1e5) / 10}M`;
  if (a >= 1e4) return `${Math.round(v / 100) / 10}k`;
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return String(Math.round(v * 100) / 100);
};

export function lineChart(o: ChartOptions): string {
  const width = o.width ?? 920;
  const height = o.height ?? 280;
  const m = { top: 34, right: 16, bottom: 42, left: 64 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const all = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(o.title)}">`;
  const title = `<text x="${m.left}" y="20" class="ct">${escapeHtml(o.title)}</text>`;
  if (all.length === 0) {
    return `${head}${title}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="muted">no data</text></svg>`;
  }
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xMin = o.xCategories ? 0 : Math.min(...xs);
  const xMax = o.xCategories ? Math.max(1, o.xCategories.length - 1) : Math.max(...xs, xMin + 1);
  let yMin = 0;
  let yMax = Math.max(...ys, 0) * 1.08 || 1;
  const logY = o.logY === true && Math.max(...ys) > 0;
  let yTicks: number[];
  if (logY) {
    const positive = ys.filter((y) => y > 0);
    yMin = 10 ** Math.floor(Math.log10(Math.min(...positive)));
    yMax = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
    if (yMax <= yMin) yMax = yMin * 10;
    yTicks = [];
    for (let v = yMin; v <= yMax * 1.0001; v *= 10) yTicks.push(v);
  } else {
    yTicks = niceTicks(yMin, yMax);
    yMax = Math.max(yMax, yTicks[yTicks.length - 1]!);
  }
  const px = (x: number) => m.left + ((x - xMin) / (xMax - xMin || 1)) * w;
  const py = (y: number) => {
    if (logY) {
      const v = Math.max(y, yMin);
      return m.top + h - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * h;
    }
    return m.top + h - ((y - yMin) / (yMax - yMin || 1)) * h;
  };
  const parts: string[] = [head, title];
  for (const t of yTicks) {
    const y = py(t).toFixed(1);
    parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${y}" y2="${y}" class="grid"/><text x="${m.left - 6}" y="${y}" dy="4" text-anchor="end" class="tick">${label(t)}</text>`);
  }
  const xTicks = o.xCategories ? o.xCategories.map((_, i) => i) : niceTicks(xMin, xMax, 8).filter((t) => t <= xMax);
  for (const t of xTicks) {
    const x = px(t).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.top + h}" y2="${m.top + h + 4}" class="axis"/><text x="${x}" y="${m.top + h + 16}" text-anchor="middle" class="tick">${escapeHtml(o.xCategories ? o.xCategories[t] ?? '' : label(t))}</text>`);
  }
  parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${m.top + h}" y2="${m.top + h}" class="axis"/><line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + h}" class="axis"/>`);
  parts.push(`<text x="${m.left + w / 2}" y="${height - 6}" text-anchor="middle" class="al">${escapeHtml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${m.top + h / 2}) rotate(-90)" text-anchor="middle" class="al">${escapeHtml(o.yLabel)}${logY ? ' (log)' : ''}</text>`);
  let lx = m.left + w;
  const legend: string[] = [];
  for (const s of [...o.series].reverse()) {
    const textWidth = s.name.length * 6.5 + 26;
    lx -= textWidth;
    legend.push(`<line x1="${lx}" x2="${lx + 16}" y1="16" y2="16" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/><text x="${lx + 20}" y="20" class="tick">${escapeHtml(s.name)}</text>`);
  }
  for (const s of o.series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    if (pts.length === 0) continue;
    if (pts.length === 1) parts.push(`<circle cx="${pts[0]!.split(',')[0]}" cy="${pts[0]!.split(',')[1]}" r="3" fill="${s.color}"><title>${escapeHtml(s.name)}</title></circle>`);
    else parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 4"' : ''} points="${pts.join(' ')}"><title>${escapeHtml(s.name)}</title></polyline>`);
  }
  parts.push(...legend, '</svg>');
  return parts.join('');
}

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const f2 = (v: number) => (Math.round(v * 100) / 100).toLocaleString('en-US');

function htmlTable(headers: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderHtml(r: BenchReport): string {
  const unit = r.target.kind === 'ws' ? 'messages' : 'requests';
  const tl = r.timeline;
  const charts: string[] = [];
  charts.push(
    lineChart({
      title: `Rate (${unit}/s)`,
      xLabel: 'seconds since start',
      yLabel: `${unit}/s`,
      series: [
        { name: r.load.model === 'closed' ? 'target (VUs)' : 'target', color: COLORS[6]!, dashed: true, points: tl.map((p) => [p.t, p.targetRate]) },
        { name: 'sent', color: COLORS[0]!, points: tl.map((p) => [p.t, p.sentRate]) },
        { name: 'ok', color: COLORS[1]!, points: tl.map((p) => [p.t, p.okRate]) },
        { name: 'errors', color: COLORS[2]!, points: tl.map((p) => [p.t, p.errorRate]) },
      ],
    }),
  );
  if (r.target.batch > 1) {
    charts.push(
      lineChart({
        title: 'Events acknowledged per second',
        xLabel: 'seconds since start',
        yLabel: 'events/s',
        series: [{ name: 'events/s', color: COLORS[3]!, points: tl.map((p) => [p.t, p.eventsPerSecond]) }],
      }),
    );
  }
  charts.push(
    lineChart({
      title: 'Latency percentiles per second (from the intended send time)',
      xLabel: 'seconds since start',
      yLabel: 'ms',
      logY: true,
      series: [
        { name: 'p50', color: COLORS[0]!, points: tl.filter((p) => p.okRate > 0).map((p) => [p.t, p.p50]) },
        { name: 'p90', color: COLORS[1]!, points: tl.filter((p) => p.okRate > 0).map((p) => [p.t, p.p90]) },
        { name: 'p99', color: COLORS[4]!, points: tl.filter((p) => p.okRate > 0).map((p) => [p.t, p.p99]) },
        { name: 'max', color: COLORS[2]!, points: tl.filter((p) => p.okRate > 0).map((p) => [p.t, p.max]) },
      ],
    }),
  );
  const d = r.delivery;
  const curveLabels = (points: { percentile: number }[]) => points.map((p) => String(p.percentile));
  if (d.checked && d.e2eMs.curve.length > 0) {
    charts.push(
      lineChart({
        title: 'Distribution: latency by percentile',
        xLabel: 'percentile',
        yLabel: 'ms',
        logY: true,
        xCategories: curveLabels(d.e2eMs.curve),
        series: [
          { name: 'end to end (accepted → inserted)', color: COLORS[3]!, points: d.e2eMs.curve.map((p, i) => [i, p.ms]) },
          {
            name: 'client latency',
            color: COLORS[0]!,
            points: d.e2eMs.curve.map((p, i) => [i, r.latencyCurve.find((c) => c.percentile === p.percentile)?.ms ?? NaN]),
          },
        ],
      }),
    );
    charts.push(
      lineChart({
        title: 'End-to-end latency per second of receive time',
        xLabel: 'seconds since start',
        yLabel: 'ms',
        logY: true,
        series: [
          { name: 'p50', color: COLORS[0]!, points: d.e2eMs.overTime.map((p) => [p.t, p.p50]) },
          { name: 'p99', color: COLORS[4]!, points: d.e2eMs.overTime.map((p) => [p.t, p.p99]) },
          { name: 'max', color: COLORS[2]!, points: d.e2eMs.overTime.map((p) => [p.t, p.max]) },
        ],
      }),
    );
  } else if (r.latencyCurve.length > 0) {
    charts.push(
      lineChart({
        title: 'Distribution: client latency by percentile',
        xLabel: 'percentile',
        yLabel: 'ms',
        logY: true,
        xCategories: curveLabels(r.latencyCurve),
        series: [{ name: 'client latency', color: COLORS[0]!, points: r.latencyCurve.map((p, i) => [i, p.ms]) }],
      }),
    );
  }
  const samples = r.resources.samples.slice(1);
  const roles = ROLES.filter((role) => samples.some((s) => s.roles[role]));
  charts.push(
    lineChart({
      title: `CPU per process (% of one core; ${r.machine.nproc} cores = ${r.machine.nproc * 100} %)`,
      xLabel: 'seconds since start',
      yLabel: '% of a core',
      series: roles.map((role, i) => ({ name: role, color: COLORS[i % COLORS.length]!, points: samples.filter((s) => s.roles[role]).map((s) => [s.t, s.roles[role]!.cpu]) })),
    }),
  );
  charts.push(
    lineChart({
      title: 'Resident memory per process',
      xLabel: 'seconds since start',
      yLabel: 'MiB',
      series: roles.map((role, i) => ({ name: role, color: COLORS[i % COLORS.length]!, points: samples.filter((s) => s.roles[role]).map((s) => [s.t, s.roles[role]!.rssMiB]) })),
    }),
  );
  if (r.findMax) {
    charts.unshift(
      lineChart({
        title: `find-max: p99 by step (objective ${r.findMax.objectiveP99Ms} ms)`,
        xLabel: `target ${unit}/s`,
        yLabel: 'p99 ms',
        logY: true,
        series: [
          { name: 'p99', color: COLORS[4]!, points: [...r.findMax.steps].sort((a, b) => a.rate - b.rate).map((s) => [s.rate, s.latencyMs.p99]) },
          { name: 'objective', color: COLORS[2]!, dashed: true, points: [[Math.min(...r.findMax.steps.map((s) => s.rate)), r.findMax.objectiveP99Ms], [Math.max(...r.findMax.steps.map((s) => s.rate)), r.findMax.objectiveP99Ms]] },
        ],
      }),
    );
  }

  const delivery = !d.checked
    ? `<span class="badge gray">delivery not checked</span>`
    : d.acknowledged === 0
      ? `<span class="badge gray">delivery: nothing acknowledged</span>`
      : d.ok
        ? `<span class="badge green">delivery proven</span>`
        : `<span class="badge red">delivery FAILED</span>`;
  const v = r.verdict;
  const verdict = `${v ? (v.ok ? '<span class="badge green">PASSED</span>' : '<span class="badge red">FAILED</span>') : ''}${delivery}`;
  // The reason a run failed comes before anything else on the page.
  const verdictBlock = !v
    ? ''
    : v.ok
      ? `<p class="verdict pass">Run PASSED${v.slo ? `: ${escapeHtml(v.slo.map((c) => `${c.name} ${c.observed} ${c.objective}`).join(', '))}` : ''}</p>`
      : `<div class="verdict fail"><strong>Run FAILED</strong><ul>${v.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('')}</ul></div>`;
  const lat = (name: string, s: { p50: number; p90: number; p95: number; p99: number; p999: number; max: number }) => [name, f2(s.p50), f2(s.p90), f2(s.p95), f2(s.p99), f2(s.p999), f2(s.max)];
  const latRows = [lat('client latency (from intended send)', r.latencyMs), lat('service time (from actual send)', r.serviceMs)];
  if (d.checked && d.e2eMs.count > 0) latRows.push(lat('end to end (accepted → inserted)', d.e2eMs));

  const sections: string[] = [];
  sections.push(`<section class="cards">
    <div class="card"><div class="k">${n0(r.totals.offeredRate ?? r.totals.achievedRate)} → ${n0(r.totals.answeredRate ?? r.totals.achievedRate)}</div><div class="l">${unit}/s offered (over ${r.loadSeconds} s) → answered (over ${r.answerSeconds ?? r.loadSeconds} s)</div></div>
    <div class="card"><div class="k">${n0(r.totals.achievedRate)}</div><div class="l">${unit}/s ok (${r.load.model === 'closed' ? `${n0(r.totals.targetRate)} virtual users` : `target ${n0(r.totals.meanTargetRate)} mean, ${n0(r.totals.targetRate)} peak`})</div></div>
    <div class="card"><div class="k">${n0(r.totals.eventsPerSecond)}</div><div class="l">events/s acknowledged</div></div>
    <div class="card"><div class="k">${f2(r.latencyMs.p99)} ms</div><div class="l">p99 latency (p50 ${f2(r.latencyMs.p50)} ms)</div></div>
    <div class="card"><div class="k">${(r.totals.errorRate * 100).toFixed(2)} %</div><div class="l">errors (${n0(r.totals.failed)})</div></div>
    <div class="card"><div class="k">${(r.totals.efficiency * 100).toFixed(1)} %</div><div class="l">efficiency (achieved / intended rate)</div></div>
    ${d.checked ? `<div class="card"><div class="k">${n0(d.rows)} / ${n0(d.acknowledged)}</div><div class="l">rows / acknowledged, ${n0(d.duplicateIds)} duplicate ids</div></div>` : ''}
  </section>`);
  if (r.findMax) {
    const f = r.findMax;
    sections.push(`<h2>find-max</h2><p>Objective: p99 ≤ ${f.objectiveP99Ms} ms, errors ≤ ${(f.maxErrorRate * 100).toFixed(1)} %, efficiency ≥ ${(f.minEfficiency * 100).toFixed(0)} %. <strong>${
      f.highestHeldRate > 0 ? `Highest rate that held: ${n0(f.highestHeldRate)} ${unit}/s = ${n0(f.highestHeldEventsPerSecond)} events/s.` : 'No step held the objective.'
    }</strong></p>${htmlTable(
      ['step', `target ${unit}/s`, 'events/s', 'ok/s', 'errors', 'efficiency', 'p50 ms', 'p99 ms', 'max ms', 'held'],
      f.steps.map((s) => [s.step, n0(s.rate), n0(s.eventsRate), n0(s.achievedRate), `${(s.errorRate * 100).toFixed(2)} %`, `${(s.efficiency * 100).toFixed(1)} %`, f2(s.latencyMs.p50), f2(s.latencyMs.p99), f2(s.latencyMs.max), s.held ? 'yes' : `no: ${s.why}`]),
    )}`);
  }
  if (r.ceilings) sections.push(`<h2>Against this machine's ceilings</h2><ul>${renderFractions(r.ceilings).map((l) => `<li>${escapeHtml(l.replace(/^ceiling: /, ''))}</li>`).join('')}</ul>`);
  if (v?.slo) sections.push(`<h2>Objectives</h2>${htmlTable(['objective', 'bound', 'observed', 'met'], v.slo.map((c) => [c.name, c.objective, c.observed, c.ok ? 'yes' : 'NO']))}`);
  sections.push(`<h2>Latency (ms)</h2>${htmlTable(['', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max'], latRows)}`);
  sections.push(`<h2>Charts</h2><div class="charts">${charts.map((c) => `<figure>${c}</figure>`).join('')}</div>`);
  if (r.errors.length > 0) sections.push(`<h2>Errors by status and code</h2>${htmlTable(['error', 'count'], r.errors.map((e) => [e.key, n0(e.count)]))}`);
  sections.push(
    `<h2>Delivery proof</h2>${
      d.checked
        ? `<p>${escapeHtml(d.reason)}. Consumer lag reached ${d.lagAtEnd} after ${(d.lagWaitMs / 1000).toFixed(1)} s${d.lagTimedOut ? ' (timed out)' : ''}.</p>${htmlTable(
            ['acknowledged', 'rows', 'distinct ids', 'duplicate ids', 'surplus rows', 'missing', 'extra', 'unknown-outcome events'],
            [[n0(d.acknowledged), n0(d.rows), n0(d.distinctIds), n0(d.duplicateIds), n0(d.duplicateRows), n0(d.missing), n0(d.extra), n0(d.ambiguous)]],
          )}`
        : `<p>Not checked: ${escapeHtml(d.reason)}</p>`
    }`,
  );
  if (r.resources.summary.length > 0) {
    sections.push(
      `<h2>Processes</h2>${htmlTable(
        ['process', 'pids', 'cpu avg %', 'cpu max %', 'rss max MiB', 'rss last MiB'],
        r.resources.summary.map((s) => [s.role, s.pids.join(' '), f2(s.cpuAvg), f2(s.cpuMax), n0(s.rssMaxMiB), n0(s.rssLastMiB)]),
      )}<p class="muted">CPU is % of one core (${r.machine.nproc * 100} % is the whole machine); <em>other</em> is everything else that ran on the machine meanwhile (CPU and used memory not in the rows above). The generator (bench) runs on the same ${r.machine.nproc} cores as the system under test.</p>`,
    );
  }
  sections.push(`<h2>Terminal summary</h2><pre>${escapeHtml(renderSummary(r))}</pre>`);
  sections.push(`<h2>Run</h2><pre>${escapeHtml(JSON.stringify({ command: r.command, machine: r.machine, git: r.git, target: r.target, load: r.load, stopReason: r.stopReason }, null, 2))}</pre>`);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>floodgate bench ${escapeHtml(r.scenario)} ${escapeHtml(r.runId)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:960px;color:#111827;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.muted,.sub{color:#6b7280}.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600;margin-left:8px;vertical-align:middle}
.verdict{border-radius:8px;padding:8px 14px;margin:12px 0}.verdict.fail{background:#fee2e2;color:#991b1b;border:1px solid #fca5a5}.verdict.pass{background:#dcfce7;color:#166534}.verdict ul{margin:4px 0 0 18px;padding:0}
.green{background:#dcfce7;color:#166534}.red{background:#fee2e2;color:#991b1b}.gray{background:#f3f4f6;color:#374151}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:16px}.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:130px}
.card .k{font-size:20px;font-weight:650}.card .l{color:#6b7280;font-size:12px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f9fafb;font-weight:600}
figure{margin:10px 0;border:1px solid #e5e7eb;border-radius:8px;padding:4px;overflow-x:auto}svg{display:block;max-width:100%;height:auto}
svg .ct{font-size:14px;font-weight:600;fill:#111827}svg .tick{font-size:11px;fill:#4b5563}svg .al{font-size:12px;fill:#374151}svg .muted{fill:#9ca3af}
svg .grid{stroke:#f0f1f3}svg .axis{stroke:#9ca3af}
pre{background:#f9fafb;border:1px solid #e5e7eb;border-radius:6px;padding:10px;overflow-x:auto;font-size:12px}
</style></head>
<body>
<h1>floodgate bench · ${escapeHtml(r.scenario)} ${verdict}</h1>
<div class="sub">run ${escapeHtml(r.runId)} · ${escapeHtml(r.startedAt)} · ${escapeHtml(r.target.kind)} ${escapeHtml(r.target.url)} · ${r.target.batch} event(s) per ${r.target.kind === 'ws' ? 'message' : 'request'}${r.target.gzip ? ' · gzip' : ''} · ${escapeHtml(r.load.model)} model · ${r.load.threads} load thread(s) · ${r.loadSeconds} s · stop: ${escapeHtml(r.stopReason)}</div>
<div class="sub">${escapeHtml(r.machine.hostname)} · nproc ${r.machine.nproc} · ${escapeHtml(r.machine.cpuModel)} · ${r.machine.memGiB} GiB · Node ${escapeHtml(r.machine.node)} · commit ${escapeHtml(r.git.commit)}${r.git.dirty ? '+dirty' : ''} · the generator shares the machine with the system under test</div>
${verdictBlock}
${sections.join('\n')}
</body></html>
`;
}
