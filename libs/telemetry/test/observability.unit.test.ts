import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it } from 'vitest';

/**
 * The shipped Grafana dashboard and Prometheus alert rules, validated offline: promtool (Debian's
 * `prometheus` package, installed by deploy/local/bootstrap.sh) checks the rules and runs their
 * unit tests, and parses every PromQL query of the dashboard; every metric they name must be one
 * the code exports, and every trace-table column one the span store has.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = path.join(ROOT, 'libs/telemetry/observability');
const RULES = path.join(DIR, 'prometheus/floodgate-alerts.yml');
const DASHBOARD = path.join(DIR, 'grafana/floodgate-dashboard.json');
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

function promtool(args: string[], cwd = DIR): string {
  try {
    return execFileSync(PROMTOOL, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { code?: string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${PROMTOOL} not found: deploy/local/bootstrap.sh installs it (apt-get install prometheus)`);
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

interface Target {
  refId: string;
  expr?: string;
  rawSql?: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Array<{ name: string; type: string }> };
  panels: Panel[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const promTargets = dashboard.panels.flatMap((p) => (p.targets ?? []).filter((t) => t.datasource.type === 'prometheus').map((t) => ({ panel: p, target: t })));
const rulesText = readFileSync(RULES, 'utf8');

/** Grafana's variables replaced by what they stand for, so promtool can parse the query. */
const asPromQL = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (name === 'node_modules' || name === 'test') return [];
    if (statSync(full).isDirectory()) return sources(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

describe('shipped Prometheus alert rules', () => {
  it('pass promtool check rules', () => {
    expect(promtool(['check', 'rules', RULES])).toContain('SUCCESS: 8 rules found');
  });

  it('fire on the situation each is for and not on a healthy one (promtool test rules)', () => {
    expect(promtool(['test', 'rules', 'floodgate-alerts.test.yml'], path.join(DIR, 'prometheus'))).toContain('SUCCESS');
  });

  it('cover lag growing, partition stuck, dead-letter rate, freshness, gateway 5xx and 503, produce failures and restarts', () => {
    const alerts = [...rulesText.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]);
    expect(alerts).toEqual([
      'FloodgateSinkLagGrowing',
      'FloodgatePartitionStuck',
      'FloodgateDeadLetterRate',
      'FloodgateFreshnessOverObjective',
      'FloodgateGateway5xxRate',
      'FloodgateGatewayOverloaded',
      'FloodgateKafkaProduceFailures',
      'FloodgateProcessRestarts',
    ]);
  });
});

describe('shipped Grafana dashboard', () => {
  it('is a well-formed dashboard: uid, variables, unique panel ids, every panel placed and queried', () => {
    expect(dashboard).toMatchObject({ uid: 'floodgate-overview', title: 'Floodgate' });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['clickhouse', 'datasource'],
      ['database', 'textbox'],
    ]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expect(['${datasource}', '${clickhouse}']).toContain(t.datasource.uid);
    }
    expect(promTargets.length).toBeGreaterThan(20);
  });

  it('has only PromQL that promtool parses (each query checked as a recording rule)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'floodgate-dashboard-'));
    try {
      const rules = { groups: [{ name: 'dashboard', rules: promTargets.map(({ panel, target }) => ({ record: `panel_${panel.id}_${target.refId}`, expr: asPromQL(target.expr!) })) }] };
      // JSON is YAML: promtool reads it as is.
      writeFileSync(path.join(dir, 'dashboard-queries.yml'), JSON.stringify(rules, null, 2));
      expect(promtool(['check', 'rules', 'dashboard-queries.yml'], dir)).toContain(`SUCCESS: ${promTargets.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('queries the trace table with columns the span store has', () => {
    const ddl = readFileSync(path.join(ROOT, 'libs/clickhouse/src/migrations.ts'), 'utf8');
    const sql = dashboard.panels.flatMap((p) => p.targets ?? []).flatMap((t) => (t.rawSql ? [t.rawSql] : []));
    expect(sql.length).toBe(2);
    for (const q of sql) {
      expect(q).toContain('${database}.otel_traces');
      expect(q).toContain('$__timeFilter(Timestamp)');
      for (const column of ['Timestamp', 'SpanName', 'Duration', 'TraceId', 'StatusCode']) {
        if (q.includes(column)) expect(ddl, column).toMatch(new RegExp(`\\b${column} [A-Z]`));
      }
    }
  });
});

describe('the metrics the dashboard and the alerts use', () => {
  const used = new Set<string>();
  for (const text of [rulesText, ...promTargets.map(({ target }) => target.expr!)]) {
    for (const m of text.matchAll(/\b((?:floodgate|process|nodejs)_[a-z0-9_]+)\b/g)) used.add(m[1]!.replace(/_(bucket|sum|count)$/, ''));
  }

  it('are exported by the code under those exact names', () => {
    const code = [...sources(path.join(ROOT, 'apps')), ...sources(path.join(ROOT, 'libs'))].map((f) => readFileSync(f, 'utf8')).join('\n');
    const floodgate = [...used].filter((n) => n.startsWith('floodgate_'));
    expect(floodgate.length).toBeGreaterThan(10);
    for (const name of floodgate) expect(code.includes(`'${name}'`), name).toBe(true);
  });

  it('use the standard Node.js process metric names, which no component renames with a prefix', () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const standard = new Set(registry.getMetricsAsArray().map((m) => m.name));
    const nodeNames = [...used].filter((n) => !n.startsWith('floodgate_'));
    expect(nodeNames.sort()).toEqual(['nodejs_eventloop_lag_p99_seconds', 'process_cpu_seconds_total', 'process_resident_memory_bytes']);
    for (const name of nodeNames) expect(standard.has(name), name).toBe(true);
    for (const file of [...sources(path.join(ROOT, 'apps')), ...sources(path.join(ROOT, 'libs'))]) {
      const text = readFileSync(file, 'utf8');
      for (const call of text.matchAll(/collectDefaultMetrics\(([^)]*)\)/g)) expect(call[1], `${path.relative(ROOT, file)}: ${call[0]}`).not.toContain('prefix');
    }
  });
});
