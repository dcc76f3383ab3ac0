// deploy/observability against the metrics the provider really exports: the Grafana dashboard
// parses and is wired to its `datasource` variable, the PrometheusRule has what an on-call person
// needs (severity, summary, description, a runbook section that exists), and every metric name in
// every PromQL expression (panels, variables, rules) is one the provider's registry exports. The
// list comes from createMetrics(), the registry /metrics serves, so a renamed metric or a typo
// in a panel fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../adapters/telemetry/metrics.ts';
import { METRIC } from '../../../provider/telemetry/names.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DIR = 'deploy/observability';
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// --- PromQL: the metric names an expression selects ------------------------------------------

/** Functions and aggregation operators an identifier followed by `(` may be. */
const PROMQL_FUNCTIONS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group', 'limitk', 'limit_ratio',
  'abs', 'absent', 'absent_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'day_of_month', 'day_of_week', 'day_of_year',
  'days_in_month', 'delta', 'deriv', 'exp', 'floor', 'histogram_avg', 'histogram_count', 'histogram_fraction', 'histogram_quantile',
  'histogram_stddev', 'histogram_stdvar', 'histogram_sum', 'holt_winters', 'double_exponential_smoothing', 'hour', 'idelta', 'increase',
  'irate', 'label_join', 'label_replace', 'ln', 'log2', 'log10', 'minute', 'month', 'predict_linear', 'rate', 'resets', 'round',
  'scalar', 'sgn', 'sort', 'sort_desc', 'sort_by_label', 'sort_by_label_desc', 'sqrt', 'time', 'timestamp', 'vector', 'year',
  'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'quantile_over_time', 'stddev_over_time',
  'stdvar_over_time', 'last_over_time', 'present_over_time', 'mad_over_time',
]);
/** Keywords that are never metric names. */
const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names an expression selects. A small tokenizer, not a parser: strings, Grafana
 * variables (`$job`, `${x}`), label matchers `{...}`, ranges `[...]`, numbers/durations and the
 * label lists of by/without/on/ignoring/group_left/group_right are removed; what remains is
 * functions (followed by `(`), keywords and metric names. An unknown identifier followed by `(`
 * throws, so a misspelt function cannot hide a metric.
 */
function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' $1 ')
    .replace(/(?<![\w:])\d[\w.]*/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    if (PROMQL_FUNCTIONS.has(word) || PROMQL_KEYWORDS.has(word)) continue;
    const next = stripped.slice(m.index + word.length).trimStart()[0];
    if (next === '(') throw new Error(`${JSON.stringify(expr)}: ${word}( is not a PromQL function this test knows`);
    names.add(word);
  }
  return [...names];
}

/** The series names the provider's registry exposes, with the suffixes its types produce. */
async function exportedSeriesNames(): Promise<Set<string>> {
  // As the provider builds it (adapters/cli/provider.ts): with the process_* and nodejs_* metrics.
  const metrics = createMetrics({ processMetrics: true });
  const out = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    const type = String(m.type);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) out.add(`${m.name}${suffix}`);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) out.add(`${m.name}${suffix}`);
    else out.add(m.name);
  }
  return out;
}

// --- the files -------------------------------------------------------------------------------

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  gridPos: { h: number; w: number; x: number; y: number };
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface PrometheusRule {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: { groups: { name: string; rules: Rule[] }[] };
}

const dashboard = (): Dashboard => JSON.parse(read(`${DIR}/grafana-dashboard.json`)) as Dashboard;
const rules = (): PrometheusRule => parseYaml(read(`${DIR}/prometheusrule.yaml`)) as PrometheusRule;

/** Every panel, including those inside collapsed rows. */
function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** `label_values(metric{...}, label)` -> `metric{...}`; other variable queries as they are. */
function variableSelector(query: string): string {
  const m = /^\s*label_values\((?:(.*),)?\s*[a-zA-Z_]\w*\s*\)\s*$/.exec(query);
  return m === null ? query : (m[1] ?? '');
}

/** Every PromQL expression of the dashboard and the rules, each with where it is. */
function expressions(): { where: string; expr: string }[] {
  const d = dashboard();
  const out: { where: string; expr: string }[] = [];
  for (const panel of allPanels(d.panels)) {
    for (const t of panel.targets ?? []) if (t.expr !== undefined) out.push({ where: `panel "${panel.title}"`, expr: t.expr });
  }
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    out.push({ where: `variable $${v.name}`, expr: variableSelector(query) });
  }
  for (const group of rules().spec.groups) {
    for (const rule of group.rules) out.push({ where: `rule ${rule.alert ?? rule.record}`, expr: rule.expr });
  }
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    out.add(m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
  }
  return out;
}

// --- tests -----------------------------------------------------------------------------------

describe('the PromQL tokenizer', () => {
  it.each([
    ['rate(eci_vn_cloud_calls_total{code!="OK", action=~"Create.*"}[5m])', ['eci_vn_cloud_calls_total']],
    ['histogram_quantile(0.99, sum by (le, action) (rate(a_bucket{job=~"$job"}[$__rate_interval])))', ['a_bucket']],
    ['sum by (job) (x) / ignoring (code) group_left sum without (instance) (y) > 1e3', ['x', 'y']],
    ['(free and on (instance) (leader == 1)) < 10 offset 5m', ['free', 'leader']],
    ['absent(up{job="a"})', ['up']],
    ['sum(rate(x[5m:1m])) * 0.5 + ${scale}', ['x']],
  ])('%s -> %j', (expr, names) => {
    expect(promqlMetricNames(expr).sort()).toEqual([...names].sort());
  });

  it('refuses a call of something that is not a PromQL function', () => {
    expect(() => promqlMetricNames('rat(eci_vn_pods[5m])')).toThrow(/rat\( is not a PromQL function/);
  });
});

describe('deploy/observability: every query names an exported metric', () => {
  let exported: Set<string>;
  beforeAll(async () => {
    exported = await exportedSeriesNames();
  });

  it('the registry list is the real one (histograms by their series, counters by _total)', () => {
    expect(exported).toContain(`${METRIC.podBoundToRunning}_bucket`);
    expect(exported).not.toContain(METRIC.podBoundToRunning);
    expect(exported).toContain(METRIC.cloudCalls);
    expect(exported).toContain(METRIC.leader);
    expect(exported).toContain('process_cpu_seconds_total');
  });

  it('every metric in every panel, variable and rule expression is exported by the provider', () => {
    const exprs = expressions();
    expect(exprs.length).toBeGreaterThan(20);
    const unknown: string[] = [];
    for (const { where, expr } of exprs) {
      const names = promqlMetricNames(expr);
      expect(names.length, `${where}: ${expr} selects no metric`).toBeGreaterThan(0);
      for (const name of names) if (!exported.has(name)) unknown.push(`${where}: ${name} (in ${expr})`);
    }
    expect(unknown, 'metrics the provider does not export').toEqual([]);
  });
});

describe('deploy/observability/grafana-dashboard.json', () => {
  it('parses, has a datasource variable, and every panel queries through it', () => {
    const d = dashboard();
    expect(d.uid).toBe('eci-virtual-node');
    const datasource = d.templating.list.find((v) => v.name === 'datasource');
    expect(datasource?.type).toBe('datasource');
    expect(datasource?.query).toBe('prometheus');
    const panels = allPanels(d.panels);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size, 'panel ids are unique').toBe(ids.length);
    for (const p of panels.filter((p) => p.type !== 'row')) {
      expect(p.targets?.length, `panel "${p.title}" has queries`).toBeGreaterThan(0);
      expect(p.datasource?.uid, `panel "${p.title}"`).toBe('${datasource}');
      for (const t of p.targets ?? []) expect(t.datasource?.uid, `panel "${p.title}" target`).toBe('${datasource}');
      expect(p.gridPos.x + p.gridPos.w, `panel "${p.title}" fits the 24-column grid`).toBeLessThanOrEqual(24);
    }
  });

  it('has the panels the issue asks for, each on the metric that answers it', () => {
    const exprsOf = (title: RegExp) =>
      allPanels(dashboard().panels)
        .filter((p) => title.test(p.title))
        .flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
    const expectPanel = (title: RegExp, metric: string) => expect(exprsOf(title).join('\n'), String(title)).toContain(metric);
    expectPanel(/^Pods by phase$/, METRIC.pods);
    expectPanel(/^Bound -> Running/, `${METRIC.podBoundToRunning}_bucket`);
    for (const q of ['0.5', '0.9', '0.99']) expect(exprsOf(/^Bound -> Running/).some((e) => e.startsWith(`histogram_quantile(${q},`))).toBe(true);
    expectPanel(/^Cloud calls by action$/, METRIC.cloudCalls);
    expectPanel(/^Throttled calls/, METRIC.cloudCalls);
    expectPanel(/^Cloud call latency/, `${METRIC.cloudCallDuration}_bucket`);
    expectPanel(/^Free IPs per vSwitch$/, METRIC.vSwitchFreeIps);
    expectPanel(/^Free IPs and pods per network$/, METRIC.networkFreeIps);
    expectPanel(/^Free IPs and pods per network$/, METRIC.networkPods);
    expectPanel(/^Work queue depth$/, METRIC.workqueueDepth);
    expectPanel(/^Leader$/, METRIC.leader);
  });
});

describe('deploy/observability/prometheusrule.yaml', () => {
  it('is a PrometheusRule whose every alert has a severity, a summary, a description and a runbook section that exists', () => {
    const r = rules();
    expect(r.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(r.kind).toBe('PrometheusRule');
    const sections = anchors(read('docs/operations.md'));
    const alerts = r.spec.groups.flatMap((g) => g.rules).filter((rule) => rule.alert !== undefined);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'EciVirtualNodeCreateErrors',
        'EciVirtualNodeCloudThrottled',
        'EciVirtualNodeVSwitchIpsLow',
        'EciVirtualNodeVSwitchIpsExhausted',
        'EciVirtualNodeNoLeader',
        'EciVirtualNodeDown',
        'EciVirtualNodePodNetworkingNotReady',
        'EciVirtualNodeNetworkIpHeadroomLow',
        'EciVirtualNodePodIpOutsideNetwork',
      ]),
    );
    for (const a of alerts) {
      expect(['critical', 'warning', 'info'], `${a.alert} severity`).toContain(a.labels?.severity);
      expect(a.annotations?.summary, `${a.alert} summary`).toBeTruthy();
      expect(a.annotations?.description, `${a.alert} description`).toBeTruthy();
      const runbook = a.annotations?.runbook_url ?? '';
      const m = /^docs\/operations\.md#(.+)$/.exec(runbook);
      expect(m, `${a.alert} runbook_url ${runbook}`).not.toBeNull();
      expect(sections, `${a.alert}: docs/operations.md has a section #${m![1]}`).toContain(m![1]);
      expect(a.for ?? '', `${a.alert} waits before firing`).toMatch(/^\d+[smh]$/);
    }
  });

  it('alerts on IP headroom and IP drift per network, from the leader only (issue 17)', () => {
    const byName = new Map(rules().spec.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined).map((r) => [r.alert!, r]));
    const headroom = byName.get('EciVirtualNodeNetworkIpHeadroomLow');
    expect(promqlMetricNames(headroom?.expr ?? '').sort()).toEqual([METRIC.leader, METRIC.networkIpHeadroomLow].sort());
    expect(headroom?.annotations?.summary).toContain('{{ $labels.network }}');
    const drift = byName.get('EciVirtualNodePodIpOutsideNetwork');
    expect(promqlMetricNames(drift?.expr ?? '').sort()).toEqual([METRIC.leader, METRIC.networkIpDriftPods].sort());
    expect(drift?.labels?.severity).toBe('critical');
  });

  it('is shipped by the observability component, together with the dashboard, and not by the base', () => {
    const component = parseYaml(read(`${DIR}/kustomization.yaml`)) as { kind: string; resources: string[]; configMapGenerator: { files: string[] }[] };
    expect(component.kind).toBe('Component');
    expect(component.resources).toContain('prometheusrule.yaml');
    expect(component.configMapGenerator.flatMap((g) => g.files)).toContain('grafana-dashboard.json');
    // The base must apply on clusters without the Prometheus operator's CRDs.
    expect(read('deploy/base/kustomization.yaml')).not.toMatch(/observability|PrometheusRule|ServiceMonitor/);
  });
});
