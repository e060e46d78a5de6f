/**
 * The Grafana dashboard and the Prometheus rules in ops/observability name metrics the
 * server must serve: every name they use is looked up in a real server's /metrics after a
 * little traffic (a socket edit, REST calls, a feed event indexed), so renaming a metric
 * without updating them fails here. The dashboard's shape is checked too (each panel has a
 * datasource, ids are unique, expressions are balanced), and every recorded series an
 * alert or panel reads is defined by a recording rule. `ops/promtool.sh` checks the rules'
 * syntax and behaviour with promtool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

import { startServer } from './helpers/server.js';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { eventually } from './helpers/wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OBS = path.join(ROOT, 'ops/observability');

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; refId?: string; datasource?: unknown }[];
  panels?: Panel[];
}

function dashboard(): { panels: Panel[]; templating?: { list?: { name: string; type: string }[] } } {
  return JSON.parse(fs.readFileSync(path.join(OBS, 'grafana/dashboards/quire.json'), 'utf8'));
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
}

function rules(file: string): Rule[] {
  const doc = parseYaml(fs.readFileSync(path.join(OBS, 'prometheus/rules', file), 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan']);
/** Series Prometheus makes itself, not the server. */
const PROMETHEUS_SERIES = new Set(['up']);
/** Labelled counters whose first sample needs a fault (a refused socket): registered is enough. */
const ON_FAULT_ONLY = new Set(['quire_sync_refused_total']);

/**
 * The series names a PromQL expression reads: label matchers, grouping clauses, strings,
 * ranges and durations removed, function names (followed by `(`) and keywords dropped.
 */
function seriesNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\boffset\s+\w+/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const after = bare.slice(m.index + word.length).trimStart();
    if (after.startsWith('(')) continue;
    if (PROMQL_WORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

test('the expression reader finds series names and only them', () => {
  assert.deepEqual(seriesNames('histogram_quantile(0.99, sum by (job, le) (rate(quire_sync_ack_seconds_bucket{route!~"/health|/x"}[5m]))) > 0.25 and on(job) up == 1'), [
    'quire_sync_ack_seconds_bucket',
    'up',
  ]);
  assert.deepEqual(seriesNames('quire:http_errors:rate5m / quire:http_requests:rate5m'), ['quire:http_errors:rate5m', 'quire:http_requests:rate5m']);
  assert.ok(!balanced('sum(rate(x[5m])'), 'an unclosed parenthesis is reported');
});

test('the dashboard is well formed: datasource on every panel, unique ids, balanced expressions', () => {
  const d = dashboard();
  const panels = allPanels(d.panels);
  assert.ok(panels.length > 10, 'the dashboard has panels');
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, `panel ids are unique: ${ids.join(',')}`);
  assert.ok(
    ids.every((id) => Number.isInteger(id)),
    'every panel has an id',
  );
  const variables = new Set((d.templating?.list ?? []).map((v) => v.name));
  for (const p of panels) {
    if (p.type === 'row') continue;
    assert.ok(p.datasource?.type === 'prometheus' && p.datasource.uid, `panel "${p.title}" names its Prometheus datasource`);
    const uidVar = /^\$\{?(\w+)\}?$/.exec(p.datasource.uid!)?.[1];
    if (uidVar) assert.ok(variables.has(uidVar), `panel "${p.title}" uses the variable $${uidVar}, which the dashboard defines`);
    assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has a query`);
    const refIds = (p.targets ?? []).map((t) => t.refId);
    assert.equal(new Set(refIds).size, refIds.length, `panel "${p.title}": refIds are unique`);
    for (const t of p.targets ?? []) {
      assert.ok(t.expr && t.expr.trim().length > 0, `panel "${p.title}": every query has an expression`);
      assert.ok(balanced(t.expr), `panel "${p.title}": brackets balance in ${t.expr}`);
      assert.ok(seriesNames(t.expr).length > 0, `panel "${p.title}": ${t.expr} reads a series`);
    }
  }
});

test('every recorded series an alert or a panel reads is recorded; every alert has a severity', () => {
  const recording = rules('quire-recording.yml');
  const alerts = rules('quire-alerts.yml') as (Rule & { labels?: Record<string, string> })[];
  const recorded = new Set(recording.map((r) => r.record));
  const reads = [...alerts.map((a) => a.expr), ...recording.map((r) => r.expr), ...allPanels(dashboard().panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''))];
  for (const expr of reads) {
    assert.ok(balanced(expr), `brackets balance in ${expr}`);
    for (const name of seriesNames(expr).filter((n) => n.includes(':'))) assert.ok(recorded.has(name), `${name} (read by ${expr.trim()}) is a recording rule`);
  }
  for (const a of alerts) assert.ok(['page', 'ticket'].includes(a.labels?.severity ?? ''), `${a.alert} has severity page or ticket`);
});

test('every metric the dashboard and the rules read is served on /metrics', async (t) => {
  const server = await startServer(t, { redis: true, nats: true });
  const owner = await server.api.signup();
  const doc = await server.api.createDocument(owner, 'Observed');
  const client = connect(t, server.url, doc.id, owner.accessToken, { reconnect: false });
  await synced(client);
  paragraphText(client.doc).insert(0, 'an edit that is acknowledged');
  await acked(client);
  const listed = await server.api.get(`/api/v1/documents/${doc.id}`, owner.accessToken);
  assert.equal(listed.status, 200, 'a REST call answers');

  const wanted = new Set<string>();
  for (const r of [...rules('quire-recording.yml'), ...rules('quire-alerts.yml')]) for (const n of seriesNames(r.expr)) wanted.add(n);
  for (const p of allPanels(dashboard().panels)) for (const tg of p.targets ?? []) for (const n of seriesNames(tg.expr ?? '')) wanted.add(n);
  const served = [...wanted].filter((n) => !n.includes(':') && !PROMETHEUS_SERIES.has(n));
  assert.ok(served.length > 15, `the dashboard and rules read the server's metrics (${served.length})`);

  // The feed event of the edit reaches the indexer; the labelled series appear once observed.
  const missing = await eventually(
    async () => {
      const res = await fetch(`${server.url}/metrics`);
      assert.equal(res.status, 200, '/metrics answers on loopback');
      const text = await res.text();
      const present = new Set(
        text
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .map((l) => /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(l)?.[0] ?? ''),
      );
      for (const name of ON_FAULT_ONLY) if (text.includes(`# TYPE ${name} `)) present.add(name);
      const absent = served.filter((n) => !present.has(n));
      assert.deepEqual(absent, [], `every metric is served (missing: ${absent.join(', ')})`);
      return absent;
    },
    { timeoutMs: 60_000, intervalMs: 250, message: 'metrics the dashboard and rules read are served' },
  );
  assert.deepEqual(missing, [], 'nothing is missing');
});
