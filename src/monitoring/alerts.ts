/**
 * Alert rules: a figure of the last window (drift, live performance, a subgroup gap, traffic)
 * compared with a threshold. A rule fires when the figure crosses it and resolves when it comes
 * back; each change is logged, counted in a metric, and posted to a webhook when the rule has one.
 */
import { isIP } from 'node:net';
import { GalenError } from '../core/index.js';
import { AddressPolicy } from '../outbound/index.js';
import type { OutboundClient } from '../outbound/index.js';
import type { WindowReport } from './report.js';

export const ALERT_METRICS = {
  samples: 'predictions sampled in the window',
  labelled: 'labelled predictions in the window',
  feature_psi: 'PSI of `feature` (or the largest over all inputs)',
  drifted_features: 'inputs flagged as drifted',
  prediction_psi: 'PSI of the prediction',
  auroc: 'live AUROC (two classes)',
  brier: 'live Brier score (two classes)',
  calibration_error: 'live expected calibration error (two classes)',
  accuracy: 'live accuracy (more classes)',
  rmse: 'live RMSE (values)',
  mae: 'live MAE (values)',
  subgroup_gap: 'gap between the best and worst group of `attribute` (or the largest over attributes)',
} as const;
export type AlertMetric = keyof typeof ALERT_METRICS;

export const ALERT_ACTIONS = ['log', 'metric', 'webhook'] as const;
export type AlertAction = (typeof ALERT_ACTIONS)[number];

export interface AlertRule {
  name: string;
  metric: AlertMetric;
  feature?: string;
  attribute?: string;
  /** Fires when the figure is above this… */
  above?: number;
  /** …or below this. */
  below?: number;
  /** Length of the window ending now (ISO 8601 duration, e.g. PT1H, P1D). */
  window: string;
  /** Samples (labelled samples for performance metrics) the window needs before the rule is judged. */
  minSamples: number;
  actions: AlertAction[];
  webhook?: string;
}

export interface MonitoringSettings {
  /** Share of predictions recorded (0–1); absent = the server's default. */
  sampleRate?: number;
  rules: AlertRule[];
}

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/;
/** Windows from one minute to a year. */
const WINDOW_MS = { min: 60_000, max: 366 * 86_400_000 };

/** Milliseconds in an ISO 8601 duration of days, hours and minutes (e.g. P1D, PT6H, PT30M). */
export function durationMs(text: string, what: string): number {
  const m = DURATION.exec(text);
  const ms = m
    ? (Number(m[1] ?? 0) * 86_400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60) * 1000
    : Number.NaN;
  if (!(ms >= WINDOW_MS.min && ms <= WINDOW_MS.max)) {
    throw new GalenError(
      'invalid_input',
      `${what} is ${JSON.stringify(text)}; use an ISO 8601 duration in days, hours or minutes from PT1M to P366D, e.g. "PT1H" or "P1D"`,
    );
  }
  return ms;
}

const PERFORMANCE_METRICS = new Set<AlertMetric>([
  'auroc',
  'brier',
  'calibration_error',
  'accuracy',
  'rmse',
  'mae',
  'subgroup_gap',
]);
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_RULES = 50;

function fail(at: string, message: string): never {
  throw new GalenError('invalid_input', `${at}: ${message}`);
}

function parseRule(raw: unknown, at: string, webhookRefusal: WebhookRefusal): AlertRule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(at, 'a rule is an object');
  const r = raw as Record<string, unknown>;
  const known = new Set([
    'name',
    'metric',
    'feature',
    'attribute',
    'above',
    'below',
    'window',
    'minSamples',
    'actions',
    'webhook',
  ]);
  const extra = Object.keys(r).find((k) => !known.has(k));
  if (extra !== undefined) fail(at, `unknown field "${extra}"; a rule has ${[...known].join(', ')}`);
  if (typeof r['name'] !== 'string' || !RULE_NAME.test(r['name']))
    fail(at, 'name is 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  const name = r['name'];
  const where = `rule "${name}"`;
  if (typeof r['metric'] !== 'string' || !(r['metric'] in ALERT_METRICS))
    fail(where, `metric is one of ${Object.keys(ALERT_METRICS).join(', ')}`);
  const metric = r['metric'] as AlertMetric;
  const threshold = (key: 'above' | 'below'): number | undefined => {
    const v = r[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `${key} is a number`);
    return v;
  };
  const above = threshold('above');
  const below = threshold('below');
  if ((above === undefined) === (below === undefined)) fail(where, 'give exactly one of "above" or "below"');
  for (const key of ['feature', 'attribute'] as const) {
    if (r[key] !== undefined && (typeof r[key] !== 'string' || r[key] === ''))
      fail(where, `${key} is a name`);
  }
  if (r['feature'] !== undefined && metric !== 'feature_psi')
    fail(where, 'feature goes with metric feature_psi');
  if (r['attribute'] !== undefined && metric !== 'subgroup_gap')
    fail(where, 'attribute goes with metric subgroup_gap');
  const window = r['window'] ?? 'P1D';
  if (typeof window !== 'string') fail(where, 'window is an ISO 8601 duration such as "P1D"');
  durationMs(window, `${where} window`);
  const minSamples = r['minSamples'] ?? (PERFORMANCE_METRICS.has(metric) ? 30 : 50);
  if (
    typeof minSamples !== 'number' ||
    !Number.isInteger(minSamples) ||
    minSamples < 0 ||
    minSamples > 1_000_000
  )
    fail(where, 'minSamples is an integer from 0 to 1000000');
  const actions = r['actions'] ?? ['log', 'metric'];
  if (
    !Array.isArray(actions) ||
    actions.length === 0 ||
    actions.some((a) => !(ALERT_ACTIONS as readonly unknown[]).includes(a))
  )
    fail(where, `actions is a non-empty list of ${ALERT_ACTIONS.join(', ')}`);
  const webhook = r['webhook'];
  if ((actions as string[]).includes('webhook') !== (webhook !== undefined))
    fail(where, 'a "webhook" action needs a webhook URL, and a webhook URL needs the "webhook" action');
  if (webhook !== undefined) {
    let url: URL | undefined;
    try {
      url = typeof webhook === 'string' ? new URL(webhook) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password)
      fail(where, 'webhook is an http(s) URL without credentials in it');
    const refused = webhookRefusal(url);
    if (refused !== undefined) fail(where, refused);
  }
  return {
    name,
    metric,
    ...(typeof r['feature'] === 'string' && { feature: r['feature'] }),
    ...(typeof r['attribute'] === 'string' && { attribute: r['attribute'] }),
    ...(above !== undefined && { above }),
    ...(below !== undefined && { below }),
    window,
    minSamples,
    actions: [...new Set(actions as AlertAction[])],
    ...(typeof webhook === 'string' && { webhook }),
  };
}

/** Checks a model's monitoring settings: `{"sampleRate"?: 0–1, "rules"?: [...]}`. */
/** Why a webhook URL would be refused when an alert is sent, or undefined. */
export type WebhookRefusal = (url: URL) => string | undefined;

/** A webhook host that is an address not public, or a name that only resolves inside. */
function insideOnlyRefusal(url: URL): string | undefined {
  const inside = internalHostKind(url.hostname);
  return inside === undefined
    ? undefined
    : `webhook host ${url.hostname} is ${inside}; alerts go to public hosts, not loopback, private or link-local ones, unless monitoring.allowPrivateWebhooks is set`;
}

/**
 * The check a webhook passes when its rule is saved, by the rules that apply when the alert is
 * sent: nothing under `monitoring.allowPrivateWebhooks` (it lifts both below for alert
 * receivers); else a host that can only be inside (unless `outbound.allowPrivateNetworks` lists
 * networks), then the outbound client's own configured rules (https unless
 * `outbound.allowHttpHosts`, addresses outside `outbound.allowPrivateNetworks`).
 */
export function webhookRefusalFor(
  outbound: Pick<OutboundClient, 'refusalOf' | 'settings'>,
  allowPrivateWebhooks: boolean,
): WebhookRefusal {
  return (url) => {
    if (allowPrivateWebhooks) return undefined;
    const inside = outbound.settings.allowPrivateNetworks.length > 0 ? undefined : insideOnlyRefusal(url);
    if (inside !== undefined) return inside;
    const refused = outbound.refusalOf(url);
    return refused && `webhook ${url.origin} would be ${refused.why}`;
  };
}

export function parseMonitoringSettings(raw: unknown, webhookRefusal: WebhookRefusal): MonitoringSettings {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new GalenError(
      'invalid_input',
      'monitoring settings are {"sampleRate"?: 0–1, "rules"?: [{"name", "metric", "above" | "below", …}]}',
    );
  }
  const r = raw as Record<string, unknown>;
  const extra = Object.keys(r).find((k) => k !== 'sampleRate' && k !== 'rules');
  if (extra !== undefined)
    fail('monitoring settings', `unknown field "${extra}"; they have sampleRate and rules`);
  const rate = r['sampleRate'];
  if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)))
    fail(
      'sampleRate',
      `${JSON.stringify(rate)} is not a share from 0 (record nothing) to 1 (record every prediction)`,
    );
  const rulesRaw = r['rules'] ?? [];
  if (!Array.isArray(rulesRaw) || rulesRaw.length > MAX_RULES)
    fail('rules', `a list of at most ${MAX_RULES} rules`);
  const rules = rulesRaw.map((rule, i) => parseRule(rule, `rules[${i}]`, webhookRefusal));
  const names = new Set<string>();
  for (const rule of rules) {
    if (names.has(rule.name)) fail(`rule "${rule.name}"`, 'names must be unique');
    names.add(rule.name);
  }
  return { ...(typeof rate === 'number' && { sampleRate: rate }), rules };
}

/**
 * A metric's figure in a window's report (for one `feature` or `attribute` when given), and the
 * count it is judged on; undefined when the report does not have it.
 */
export function ruleValue(
  rule: Pick<AlertRule, 'metric' | 'feature' | 'attribute'>,
  report: WindowReport,
): { value: number | undefined; count: number } {
  const drift = report.drift;
  const perf = report.performance;
  const samples = report.samples;
  const labelled = report.labelled;
  switch (rule.metric) {
    case 'samples':
      return { value: samples, count: Number.POSITIVE_INFINITY };
    case 'labelled':
      return { value: labelled, count: Number.POSITIVE_INFINITY };
    case 'feature_psi': {
      const psis = Object.entries(drift?.features ?? {})
        .filter(([n]) => rule.feature === undefined || n === rule.feature)
        .map(([, d]) => d.psi);
      return { value: psis.length ? Math.max(...psis) : undefined, count: samples };
    }
    case 'drifted_features':
      return {
        value: drift ? drift.drifted.filter((n) => n !== 'prediction').length : undefined,
        count: samples,
      };
    case 'prediction_psi':
      return { value: drift?.prediction?.psi, count: samples };
    case 'auroc':
      return { value: perf?.task === 'binary' ? perf.auroc : undefined, count: labelled };
    case 'brier':
      return { value: perf?.task === 'binary' ? perf.brier : undefined, count: labelled };
    case 'calibration_error':
      return { value: perf?.task === 'binary' ? perf.calibrationError : undefined, count: labelled };
    case 'accuracy':
      return { value: perf?.task === 'multiclass' ? perf.accuracy : undefined, count: labelled };
    case 'rmse':
      return { value: perf?.task === 'regression' ? perf.rmse : undefined, count: labelled };
    case 'mae':
      return { value: perf?.task === 'regression' ? perf.mae : undefined, count: labelled };
    case 'subgroup_gap': {
      const gaps = Object.entries(report.subgroups ?? {})
        .filter(([a]) => rule.attribute === undefined || a === rule.attribute)
        .flatMap(([, s]) => (s.gap ? [s.gap.gap] : []));
      return { value: gaps.length ? Math.max(...gaps) : undefined, count: labelled };
    }
  }
}

/** firing / ok, or undefined when the window cannot judge the rule (too few samples, figure absent). */
export function judge(
  rule: AlertRule,
  report: WindowReport,
): { state: 'firing' | 'ok'; value: number } | undefined {
  const { value, count } = ruleValue(rule, report);
  if (value === undefined || count < rule.minSamples) return undefined;
  const firing = rule.above !== undefined ? value > rule.above : value < rule.below!;
  return { state: firing ? 'firing' : 'ok', value };
}

/**
 * The outbound client's address policy with no exceptions: what "not public" means is defined once,
 * in `outbound/`, and a webhook is judged at save time by the same rules that refuse it at send time.
 */
const PUBLIC_ONLY = new AddressPolicy();

/**
 * Names that can only point inside (RFC 6761 `localhost`, mDNS `.local`, `.internal`): refused when
 * the rule is saved rather than at the first alert. Other names are judged at send time, on the
 * address the guarded client actually connects to.
 */
const INTERNAL_NAME = /(^|\.)(localhost|local|internal)\.?$/;

/**
 * What kind of not-public host `host` (a URL's hostname) is, e.g. "a loopback address", or undefined
 * when it is a public address or a name that is only judged once resolved.
 */
function internalHostKind(host: string): string | undefined {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(h) === 0) return INTERNAL_NAME.test(h) ? 'a name that only resolves inside' : undefined;
  const verdict = PUBLIC_ONLY.judge(h);
  return verdict.allowed ? undefined : verdict.kind;
}

/** Whether a host name or address is loopback, private, link-local or otherwise not public (cloud metadata included). */
export function isPrivateHost(host: string): boolean {
  return internalHostKind(host) !== undefined;
}

/** A webhook URL as shown to readers: its origin only (paths and queries often carry secrets). */
export function maskedWebhook(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === '/' && u.search === '' ? u.origin : `${u.origin}/…`;
  } catch {
    return '…';
  }
}
