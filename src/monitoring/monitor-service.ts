/**
 * Production monitoring of every served version: a share of predictions is recorded (the model's
 * own inputs and outputs, and the SHA-256 of the request id, never the id), written a batch at a
 * time off the request path; labels given later by request id join them; reports compare windows
 * with the version's reference profile; alert rules are judged on a timer and on request.
 */
import {
  GalenError,
  assertCan,
  featureNames,
  isoTime,
  layoutFor,
  rowsFromTensors,
  scoredOutputFor,
  sha256Hex,
  tabularLayoutOf,
} from '../core/index.js';
import type { Actor, Clock, Tensor } from '../core/index.js';
import type { GalenMetrics, Logger } from '../observability/index.js';
import type { ModelRegistry, ModelVersion } from '../registry/index.js';
import { openJson, sealJson } from '../store/index.js';
import type {
  AlertEventRecord,
  AlertRepository,
  ArtifactCipher,
  MonitoringBatchRecord,
  MonitoringRepository,
} from '../store/index.js';
import { OutboundError } from '../outbound/index.js';
import type { OutboundClient } from '../outbound/index.js';
import {
  durationMs,
  judge,
  maskedWebhook,
  parseMonitoringSettings,
  ruleValue,
  webhookRefusalFor,
} from './alerts.js';
import type { AlertRule, MonitoringSettings } from './alerts.js';
import { buildProfile, labelValue, PROFILE_SCHEMA } from './profile.js';
import type { MonitoringProfile } from './profile.js';
import { compileProfile, LABELLED_ROWS_PER_WINDOW, WindowAccumulator } from './report.js';
import type { CompiledProfile, WindowReport } from './report.js';
import { encodeBatch } from './sample-codec.js';
import type { RecordedRequest } from './sample-codec.js';
import { groupsOf, scanWindows } from './window-scan.js';

export interface MonitoringOptions {
  /** Default share of predictions recorded (a model's settings win). */
  sampleRate: number;
  /** Window of the gauges and default report window (ISO 8601 duration). */
  window: string;
  /** Seconds between judging alert rules (0 = only on request). */
  evaluateSeconds: number;
  retentionDays: number;
  /** Whether alert webhooks may go to loopback, private and link-local addresses. */
  allowPrivateWebhooks: boolean;
}

export interface MonitorDeps {
  store: MonitoringRepository & AlertRepository;
  registry: ModelRegistry;
  metrics: GalenMetrics;
  logger: Logger;
  clock: Clock;
  cipher?: ArtifactCipher | undefined;
  options: MonitoringOptions;
  /** Runs a version without recording it (reference rows). */
  run: (version: ModelVersion, inputs: Tensor[], outputs: string[]) => Promise<Tensor[]>;
  /** The guarded client alert webhooks are posted through. */
  outbound: Pick<OutboundClient, 'request' | 'refusalOf' | 'settings'>;
}

/** Outbound failures that a retry cannot change. */
const WEBHOOK_REFUSALS = new Set(['bad_url', 'insecure', 'address_refused', 'redirect']);

export const MONITORING_LIMITS = {
  /** Predictions held in memory waiting to be written; beyond it new ones are dropped (and counted). */
  maxPending: 20_000,
  /** Rows per write. */
  flushRows: 2_000,
  flushMs: 1_000,
  /**
   * Rows read for drift per window of a report or rule (whole batches, evenly spread, beyond it);
   * every row is counted and every labelled row is read.
   */
  driftRowsPerWindow: 50_000,
  /** Labelled rows kept per report (split among its windows) for performance; beyond it a uniform sample. */
  labelledRowsPerReport: LABELLED_ROWS_PER_WINDOW,
  maxWindows: 90,
  maxLabels: 10_000,
  referenceRows: { min: 20, max: 50_000 },
  groupAttributes: 10,
  webhookTimeoutMs: 5_000,
} as const;

interface Pending extends RecordedRequest {
  version: ModelVersion;
  rows: number;
}

export interface LabelInput {
  id: string;
  label: unknown;
  /** Which row of a request with several rows (default: the only row). */
  row?: number | undefined;
  /** Subgroup attributes of the patient, e.g. {"sex": "F", "site": "north"}. */
  groups?: Record<string, string> | undefined;
}

export interface LabelResult {
  accepted: number;
  /** Ids of no recorded prediction (not sampled, too old, or unknown). */
  unmatched: { index: number; id: string }[];
  rejected: { index: number; id: string; reason: string }[];
}

export interface ReportOptions {
  window?: string | undefined;
  windows?: number | undefined;
  end?: Date | undefined;
}

export interface MonitoringReport {
  model: string;
  version: number;
  reference: {
    source: string;
    createdAt: string | null;
    /** Inputs with a reference distribution. */
    features: string[];
    prediction: boolean;
    baseline?: MonitoringProfile['baseline'];
  } | null;
  sampleRate: number;
  window: string;
  /** The whole span, then each window oldest first. */
  overall: WindowReport;
  windows: WindowReport[];
  /** Windows whose drift was computed on an even share of their rows (more than `driftRowsPerWindow`). */
  subsampled: number;
  alerts: { rule: string; state: 'firing' | 'resolved'; since: string; value: number }[];
}

/** What a reference upload gives for a version Galen did not train (or to replace the training reference). */
export interface ReferenceUpload {
  model: string;
  version: number;
  /** Reference rows as the model's inputs. */
  inputs: Tensor[];
  /** Their labels (class names, or values), for the baseline performance. */
  labels?: unknown[] | undefined;
  output?: string | undefined;
  classes?: string[] | undefined;
  names?: string[] | undefined;
  subgroupFeatures?: string[] | undefined;
  description?: string | undefined;
}

const versionKey = (model: string, version: number): string => `${model}\u0000${version}`;

/** The request id as monitoring keeps it: the first 128 bits of the SHA-256 of the model and the id. */
export const requestKey = (model: string, id: string): string => sha256Hex(`${model}\n${id}`).slice(0, 32);

export class MonitorService {
  private pending: Pending[] = [];
  private pendingRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private evaluator: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly rates = new Map<string, number>();
  /** Profiles by version, with when they were read: re-read after a minute, so another process's upload is seen. */
  private readonly profiles = new Map<string, { profile: MonitoringProfile | null; at: number }>();
  /** Rows handed to the write chain and not yet written. */
  private inflightRows = 0;
  private evaluating: Promise<AlertEventRecord[]> | undefined;
  private lastPrune = 0;
  private closed = false;

  constructor(private readonly deps: MonitorDeps) {}

  /** Loads every model's sample rate and starts judging alert rules on the configured period. */
  async start(): Promise<void> {
    await this.refreshRates();
    const seconds = this.deps.options.evaluateSeconds;
    if (seconds > 0) {
      this.evaluator = setInterval(() => {
        if (this.evaluating) return; // the previous run (slow webhooks) is still going
        this.evaluateAll().catch((err: unknown) =>
          this.deps.logger.error({ err }, 'monitoring: judging alert rules failed'),
        );
      }, seconds * 1000);
      this.evaluator.unref();
    }
  }

  /** Re-reads every model's settings and takes their sample rates; returns the settings by model. */
  private async refreshRates(): Promise<Map<string, MonitoringSettings>> {
    const settings = new Map(
      (await this.deps.store.listMonitoringSettings()).map((s) => [
        s.model,
        s.settings as unknown as MonitoringSettings,
      ]),
    );
    const rates = new Map<string, number>();
    for (const [model, { sampleRate }] of settings)
      if (sampleRate !== undefined) rates.set(model, sampleRate);
    // Swapped in whole: a model set to record nothing is never recorded while this was read.
    this.rates.clear();
    for (const [model, rate] of rates) this.rates.set(model, rate);
    return settings;
  }

  /**
   * Offers one answered request to monitoring (the hot path): a draw against the model's rate,
   * then a push onto the write queue. Nothing is read from the tensors until the write.
   */
  record(
    version: ModelVersion,
    id: string | undefined,
    inputs: readonly Tensor[],
    outputs: readonly Tensor[],
  ): void {
    const rate = this.rates.get(version.model) ?? this.deps.options.sampleRate;
    if (this.closed || rate <= 0 || (rate < 1 && Math.random() >= rate)) return;
    const rows = outputs[0]?.shape[0] ?? inputs[0]?.shape[0] ?? 1;
    if (this.pendingRows + this.inflightRows + rows > MONITORING_LIMITS.maxPending) {
      this.deps.metrics.monitoringRows(version.model, 'dropped', rows);
      return;
    }
    // Images and sequences are not compared input by input: do not hold on to them.
    const cached = this.profiles.get(versionKey(version.model, version.version))?.profile;
    this.pending.push({
      version,
      at: this.deps.clock.now(),
      key: id === undefined || id === '' ? undefined : requestKey(version.model, id),
      inputs: cached && !cached.layout ? [] : inputs,
      outputs,
      rows,
    });
    this.pendingRows += rows;
    if (this.pendingRows >= MONITORING_LIMITS.flushRows) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), MONITORING_LIMITS.flushMs);
      this.timer.unref();
    }
  }

  /** Writes what is queued; resolves when it is stored (errors are logged and the rows counted as dropped). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    const rows = this.pendingRows;
    this.pending = [];
    this.pendingRows = 0;
    if (batch.length === 0) return this.flushing;
    this.inflightRows += rows;
    // write() catches its own errors, so one failed write never breaks the chain.
    this.flushing = this.flushing.then(() => this.write(batch)).finally(() => (this.inflightRows -= rows));
    return this.flushing;
  }

  private async write(batch: readonly Pending[]): Promise<void> {
    const byVersion = new Map<string, Pending[]>();
    for (const p of batch) {
      const key = versionKey(p.version.model, p.version.version);
      const list = byVersion.get(key);
      if (list) list.push(p);
      else byVersion.set(key, [p]);
    }
    for (const items of byVersion.values()) {
      const { model, version } = items[0]!.version;
      try {
        const profile = await this.profileOf(items[0]!.version);
        if (!profile) continue;
        const { batch: stored, rows } = encodeBatch(profile, items);
        if (rows === 0) continue;
        let first = Number.POSITIVE_INFINITY;
        let last = Number.NEGATIVE_INFINITY;
        const requests = new Map<string, { at: number; rows: number }>();
        items.forEach((item, i) => {
          first = Math.min(first, item.at);
          last = Math.max(last, item.at);
          if (item.key !== undefined) requests.set(item.key, { at: item.at, rows: stored.n[i]! });
        });
        const record: MonitoringBatchRecord = {
          model,
          version,
          firstAt: new Date(first).toISOString(),
          lastAt: new Date(last).toISOString(),
          rows,
          payload: JSON.stringify(sealJson(this.deps.cipher, stored)),
        };
        await this.deps.store.insertMonitoringBatch(
          record,
          [...requests].map(([requestKey, r]) => ({
            model,
            requestKey,
            version,
            at: new Date(r.at).toISOString(),
            rows: r.rows,
          })),
        );
        this.deps.metrics.monitoringRows(model, 'recorded', rows);
      } catch (err) {
        this.deps.metrics.monitoringRows(
          model,
          'dropped',
          items.reduce((n, item) => n + item.rows, 0),
        );
        this.deps.logger.error(
          { err, model, version, requests: items.length },
          'monitoring: could not store sampled predictions',
        );
      }
    }
  }

  /**
   * The version's profile: stored, else one derived from its signature (no reference
   * distributions); null when the version has no output monitoring can score.
   */
  private async profileOf(version: ModelVersion): Promise<MonitoringProfile | null> {
    const key = versionKey(version.model, version.version);
    const now = this.deps.clock.now();
    const cached = this.profiles.get(key);
    if (cached !== undefined && now - cached.at < PROFILE_TTL_MS) return cached.profile;
    const stored = await this.deps.registry.getMonitoringProfile(version.model, version.version);
    const profile = stored
      ? (stored as unknown as MonitoringProfile)
      : derivedProfile(version, this.deps.clock);
    this.profiles.set(key, { profile, at: now });
    return profile;
  }

  private async scoredProfile(version: ModelVersion): Promise<MonitoringProfile> {
    const profile = await this.profileOf(version);
    if (!profile) {
      throw new GalenError(
        'invalid_input',
        `model "${version.model}" version ${version.version} has no FP32/FP64 output to monitor; its outputs are ${version.signature.outputs.map((o) => o.name).join(', ')}`,
      );
    }
    return profile;
  }

  /**
   * Gives a version a reference from rows of its inputs (and optionally their labels): each input's
   * distribution, and the prediction's, from running the rows through the version.
   */
  async setReference(upload: ReferenceUpload, actor: Actor): Promise<MonitoringReport['reference']> {
    assertCan(actor, 'model:write', 'set monitoring references');
    const version = await this.deps.registry.getVersion(upload.model, upload.version);
    const what = `model "${version.model}" version ${version.version}`;
    const layout = tabularLayoutOf(version.signature)
      ? layoutFor(version.signature, upload.names, what)
      : undefined;
    const output = scoredOutputFor(
      version.signature,
      {
        chosen: upload.output,
        classes: upload.classes,
        lineageClasses: version.lineage.parameters?.['classes'],
      },
      what,
    );
    const rows = layout ? rowsFromTensors(layout, upload.inputs, what) : undefined;
    const outputs = await this.deps.run(version, upload.inputs, [output.tensor]);
    const scored = outputs[0]!;
    const values = Array.from(scored.data as ArrayLike<number | bigint>, Number);
    const n = scored.shape[0] ?? 0;
    if (n < MONITORING_LIMITS.referenceRows.min || n > MONITORING_LIMITS.referenceRows.max) {
      throw new GalenError(
        'invalid_input',
        `a reference is ${MONITORING_LIMITS.referenceRows.min} to ${MONITORING_LIMITS.referenceRows.max} rows; this one has ${n}`,
      );
    }
    const width = values.length / n;
    const perRow = Array.from({ length: n }, (_, r) => values.slice(r * width, (r + 1) * width));
    if (upload.labels !== undefined && upload.labels.length !== n) {
      throw new GalenError('invalid_input', `labels has ${upload.labels.length} entries for ${n} rows`);
    }
    const labels = upload.labels?.map((l, i) => {
      try {
        return labelValue(output, l);
      } catch (err) {
        throw new GalenError('invalid_input', `labels[${i}]: ${(err as Error).message}`);
      }
    });
    const profile = buildProfile({
      layout,
      output,
      featureRows: rows ?? [],
      outputs: perRow,
      labels,
      subgroupFeatures: upload.subgroupFeatures,
      source: upload.description ?? `${n} reference rows given by ${actor.keyId ?? 'a caller'}`,
      createdAt: isoTime(this.deps.clock.now()),
    });
    await this.deps.registry.setMonitoringProfile(
      version.model,
      version.version,
      profile as unknown as Record<string, unknown>,
      actor,
    );
    this.profiles.delete(versionKey(version.model, version.version));
    return referenceView(profile);
  }

  /** Joins labels to recorded predictions by request id. */
  async addLabels(model: string, raw: unknown, actor: Actor): Promise<LabelResult> {
    assertCan(actor, 'data:write', 'give labels (outcomes) for predictions');
    const items = parseLabelItems(raw);
    await this.deps.registry.getModel(model);
    await this.flush();
    const keys = items.map((item) => requestKey(model, item.id));
    const found = new Map(
      (await this.deps.store.findMonitoringRequests(model, keys)).map((r) => [r.requestKey, r]),
    );
    const result: LabelResult = { accepted: 0, unmatched: [], rejected: [] };
    const records = [];
    const now = isoTime(this.deps.clock.now());
    for (const [index, item] of items.entries()) {
      const request = found.get(keys[index]!);
      if (!request) {
        result.unmatched.push({ index, id: item.id });
        continue;
      }
      try {
        const version = await this.deps.registry.getVersion(model, request.version);
        const profile = await this.scoredProfile(version);
        const row = item.row ?? (request.rows === 1 ? 0 : undefined);
        if (row === undefined || row >= request.rows) {
          throw new GalenError(
            'invalid_input',
            `the request had ${request.rows} rows; give "row" from 0 to ${request.rows - 1}`,
          );
        }
        records.push({
          model,
          requestKey: request.requestKey,
          row,
          version: request.version,
          predictedAt: request.at,
          label: labelValue(profile.output, item.label),
          groups: sealedGroups(this.deps.cipher, parseGroups(item.groups)),
          receivedAt: now,
          receivedBy: actor.keyId ?? 'unknown',
        });
        result.accepted++;
      } catch (err) {
        result.rejected.push({ index, id: item.id, reason: (err as Error).message });
      }
    }
    if (records.length > 0) await this.deps.store.upsertMonitoringLabels(records);
    return result;
  }

  /** Reads the windows' rows (and the whole span into `overall`) in bounded memory. */
  private scan(
    profile: CompiledProfile,
    model: string,
    version: number,
    windows: readonly WindowAccumulator[],
    overall?: WindowAccumulator,
  ): Promise<void> {
    return scanWindows(this.deps, {
      compiled: profile,
      model,
      version,
      windows,
      overall,
      driftRows: MONITORING_LIMITS.driftRowsPerWindow * windows.length,
    });
  }

  /** A report of a version (`ref`: number or alias) over `windows` windows ending at `end`. */
  async report(
    model: string,
    ref: string | undefined,
    options: ReportOptions = {},
  ): Promise<MonitoringReport> {
    await this.flush();
    const version = await this.deps.registry.resolve(model, ref);
    const profile = await this.scoredProfile(version);
    const window = options.window ?? this.deps.options.window;
    const span = durationMs(window, 'window');
    const count = options.windows ?? 7;
    if (!Number.isInteger(count) || count < 1 || count > MONITORING_LIMITS.maxWindows) {
      throw new GalenError(
        'invalid_input',
        `windows is ${count}; use an integer from 1 to ${MONITORING_LIMITS.maxWindows}`,
      );
    }
    const end = options.end ?? new Date(this.deps.clock.now());
    const start = new Date(end.getTime() - count * span);
    const compiled = compileProfile(profile);
    const labelled = MONITORING_LIMITS.labelledRowsPerReport;
    const windows = Array.from({ length: count }, (_, w) => {
      const from = new Date(start.getTime() + w * span);
      return new WindowAccumulator(
        compiled,
        from,
        new Date(from.getTime() + span),
        Math.ceil(labelled / count),
      );
    });
    const overall = new WindowAccumulator(compiled, start, end, labelled);
    await this.scan(compiled, model, version.version, windows, overall);
    const events = await this.deps.store.latestAlertEvents(model, version.version);
    return {
      model,
      version: version.version,
      reference: referenceView(profile),
      sampleRate: this.rates.get(model) ?? this.deps.options.sampleRate,
      window,
      overall: overall.report(),
      windows: windows.map((w) => w.report()),
      subsampled: windows.filter((w) => w.subsampled).length,
      alerts: events.map((e) => ({ rule: e.rule, state: e.state, since: e.at, value: e.value })),
    };
  }

  async settings(model: string): Promise<MonitoringSettings & { effectiveSampleRate: number }> {
    await this.deps.registry.getModel(model);
    const stored = await this.deps.store.getMonitoringSettings(model);
    const settings = stored ? (stored as unknown as MonitoringSettings) : { rules: [] };
    return this.view(settings);
  }

  async configure(
    model: string,
    raw: unknown,
    actor: Actor,
  ): Promise<MonitoringSettings & { effectiveSampleRate: number }> {
    assertCan(actor, 'model:write', 'change monitoring settings');
    const detail = await this.deps.registry.getModel(model);
    const settings = parseMonitoringSettings(
      raw,
      webhookRefusalFor(this.deps.outbound, this.deps.options.allowPrivateWebhooks),
    );
    await this.assertRuleFeatures(model, detail.versions, settings.rules);
    await this.deps.store.putMonitoringSettings(
      model,
      settings as unknown as Record<string, never>,
      isoTime(this.deps.clock.now()),
      actor.keyId ?? 'unknown',
    );
    if (settings.sampleRate === undefined) this.rates.delete(model);
    else this.rates.set(model, settings.sampleRate);
    return this.view(settings);
  }

  /**
   * Refuses a rule on an input that no version of the model has: its figure would never exist, so
   * the rule could never fire.
   */
  private async assertRuleFeatures(
    model: string,
    versions: readonly ModelVersion[],
    rules: readonly AlertRule[],
  ): Promise<void> {
    const named = rules.filter((r) => r.feature !== undefined);
    if (named.length === 0) return;
    const inputs = new Set<string>();
    for (const version of versions) {
      const layout = (await this.profileOf(version))?.layout;
      if (layout) for (const name of featureNames(layout)) inputs.add(name);
    }
    for (const rule of named) {
      if (inputs.has(rule.feature!)) continue;
      throw new GalenError(
        'invalid_input',
        inputs.size === 0
          ? `rule "${rule.name}": model "${model}" has no version with tabular inputs to watch; leave out "feature" (the largest drift of any input)`
          : `rule "${rule.name}": "${rule.feature}" is not an input of model "${model}" (its inputs: ${[...inputs].join(', ')}); a rule on it could never fire`,
      );
    }
  }

  /** Settings as shown: webhooks by their origin only (their paths often hold secrets). */
  private view(settings: MonitoringSettings): MonitoringSettings & { effectiveSampleRate: number } {
    return {
      ...settings,
      rules: settings.rules.map((r) => (r.webhook ? { ...r, webhook: maskedWebhook(r.webhook) } : r)),
      effectiveSampleRate: settings.sampleRate ?? this.deps.options.sampleRate,
    };
  }

  async alertEvents(model: string, limit = 100): Promise<AlertEventRecord[]> {
    await this.deps.registry.getModel(model);
    return this.deps.store.listAlertEvents(model, limit);
  }

  /**
   * Judges every rule of every version with recent samples, updates the gauges, and prunes
   * samples past retention. Returns the state changes.
   */
  async evaluateAll(only?: string): Promise<AlertEventRecord[]> {
    while (this.evaluating) await this.evaluating.catch(() => undefined);
    this.evaluating = this.evaluate(only);
    try {
      return await this.evaluating;
    } finally {
      this.evaluating = undefined;
    }
  }

  private async evaluate(only: string | undefined): Promise<AlertEventRecord[]> {
    await this.flush();
    const settings = await this.refreshRates();
    const now = new Date(this.deps.clock.now());
    if (now.getTime() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now.getTime();
      const before = new Date(now.getTime() - this.deps.options.retentionDays * 86_400_000).toISOString();
      // In short transactions, with the event loop free between them.
      while ((await this.deps.store.pruneMonitoring(before, PRUNE_ROWS)) > 0)
        await new Promise((resolve) => setImmediate(resolve));
    }
    const gaugeSpan = durationMs(this.deps.options.window, 'monitoring.window');
    const longest = Math.max(
      gaugeSpan,
      ...[...settings.values()].flatMap((s) => s.rules.map((r) => durationMs(r.window, r.name))),
    );
    const versions = (
      await this.deps.store.monitoredVersions(new Date(now.getTime() - longest).toISOString())
    ).filter((v) => only === undefined || v.model === only);
    const changes: AlertEventRecord[] = [];
    for (const { model, version } of versions) {
      try {
        changes.push(...(await this.evaluateVersion(model, version, now, settings.get(model), gaugeSpan)));
      } catch (err) {
        // One version that cannot be judged does not stop the others.
        this.deps.logger.error({ err, model, version }, "monitoring: could not judge this version's rules");
      }
    }
    return changes;
  }

  private async evaluateVersion(
    model: string,
    version: number,
    now: Date,
    settings: MonitoringSettings | undefined,
    gaugeSpan: number,
  ): Promise<AlertEventRecord[]> {
    const changes: AlertEventRecord[] = [];
    let detail: ModelVersion;
    try {
      detail = await this.deps.registry.getVersion(model, version);
    } catch {
      return changes; // the version is gone
    }
    const profile = await this.profileOf(detail);
    if (!profile) return changes;
    const compiled = compileProfile(profile);
    const reports = new Map<number, WindowReport>();
    const reportFor = async (span: number): Promise<WindowReport> => {
      const cached = reports.get(span);
      if (cached) return cached;
      const window = new WindowAccumulator(compiled, new Date(now.getTime() - span), now);
      await this.scan(compiled, model, version, [window]);
      const report = window.report();
      reports.set(span, report);
      return report;
    };
    this.updateGauges(model, version, await reportFor(gaugeSpan));
    for (const rule of settings?.rules ?? []) {
      const verdict = judge(rule, await reportFor(durationMs(rule.window, rule.name)));
      if (!verdict) continue;
      const event = await this.deps.store.recordAlertTransition({
        model,
        version,
        rule: rule.name,
        state: verdict.state === 'firing' ? 'firing' : 'resolved',
        value: verdict.value,
        at: now.toISOString(),
        detail: { metric: rule.metric, window: rule.window, ...thresholdOf(rule) },
      });
      if (rule.actions.includes('metric'))
        this.deps.metrics.alertState(model, String(version), rule.name, verdict.state === 'firing');
      if (event) {
        changes.push(event);
        await this.act(rule, event);
      }
    }
    return changes;
  }

  private updateGauges(model: string, version: number, report: WindowReport): void {
    const drift = report.drift?.enough ? report.drift : undefined;
    const psi = Object.fromEntries(Object.entries(drift?.features ?? {}).map(([f, d]) => [f, d.psi]));
    const figure = (metric: AlertRule['metric']): number | undefined => ruleValue({ metric }, report).value;
    this.deps.metrics.setMonitoringWindow(model, String(version), psi, {
      samples: report.samples,
      labelled: report.labelled,
      prediction_psi: report.drift?.enough ? figure('prediction_psi') : undefined,
      drifted_features: report.drift?.enough ? figure('drifted_features') : undefined,
      auroc: figure('auroc'),
      brier: figure('brier'),
      calibration_error: figure('calibration_error'),
      accuracy: figure('accuracy'),
      rmse: figure('rmse'),
      mae: figure('mae'),
      subgroup_gap: figure('subgroup_gap'),
    });
  }

  /** A rule's actions on a change of state: log, count, post to its webhook. */
  private async act(rule: AlertRule, event: AlertEventRecord): Promise<void> {
    const body = {
      model: event.model,
      version: event.version,
      rule: rule.name,
      metric: rule.metric,
      ...(rule.feature !== undefined && { feature: rule.feature }),
      ...(rule.attribute !== undefined && { attribute: rule.attribute }),
      state: event.state,
      value: event.value,
      ...thresholdOf(rule),
      window: rule.window,
      at: event.at,
    };
    if (rule.actions.includes('log')) {
      this.deps.logger.warn(
        { alert: body },
        `monitoring alert ${event.state}: ${event.model} v${event.version} ${rule.name}`,
      );
    }
    if (rule.actions.includes('metric'))
      this.deps.metrics.alertTransition(event.model, rule.name, event.state);
    if (rule.webhook) await this.postWebhook(rule, body);
  }

  private async postWebhook(rule: AlertRule, body: Record<string, unknown>): Promise<void> {
    let problem = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        // The guarded client judges the address it connects to (no resolve-then-fetch window),
        // requires https and follows no redirect; allowPrivateWebhooks lifts the address rules.
        const answer = await this.deps.outbound.request(rule.webhook!, {
          purpose: 'alert webhook',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'galen-monitoring' },
          body: JSON.stringify(body),
          maxBytes: 1024 * 1024,
          signal: AbortSignal.timeout(MONITORING_LIMITS.webhookTimeoutMs),
          anyAddress: this.deps.options.allowPrivateWebhooks,
        });
        if (answer.status >= 200 && answer.status < 300) return;
        problem = `status ${answer.status}`;
      } catch (err) {
        problem = (err as Error).message;
        // A refused target stays refused: no retry.
        if (err instanceof OutboundError && WEBHOOK_REFUSALS.has(err.failure)) break;
      }
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt).unref());
    }
    this.deps.metrics.webhookFailed(String(body['model']), rule.name);
    this.deps.logger.error(
      { rule: rule.name, model: body['model'], problem },
      'monitoring: alert webhook failed after 3 attempts',
    );
  }

  /**
   * Re-encrypts every recorded batch and every label's subgroups under the current master key
   * (after a rotation); returns how many batches.
   */
  async reseal(): Promise<number> {
    await this.flush();
    for (let after = 0; ;) {
      const page = await this.deps.store.scanMonitoringLabelGroups(after, 500);
      if (page.length === 0) break;
      for (const { id, groups } of page) {
        const plain = groupsOf(this.deps.cipher, { groups: JSON.parse(groups) as Record<string, string> });
        await this.deps.store.replaceMonitoringLabelGroups(
          id,
          JSON.stringify(sealedGroups(this.deps.cipher, plain)),
        );
        after = id;
      }
    }
    let count = 0;
    for (let after = 0; ;) {
      const page = await this.deps.store.scanMonitoringBatches(after, 200);
      if (page.length === 0) return count;
      for (const batch of page) {
        const plain = openJson(this.deps.cipher, JSON.parse(batch.payload), `monitoring batch ${batch.seq}`);
        await this.deps.store.replaceMonitoringPayload(
          batch.seq,
          JSON.stringify(sealJson(this.deps.cipher, plain)),
        );
        count++;
        after = batch.seq;
      }
    }
  }

  /** Stops the timers and writes what is queued. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.evaluator) clearInterval(this.evaluator);
    await this.evaluating?.catch(() => undefined);
    await this.flush();
  }
}

/** How long a version's profile is used before it is read again. */
const PROFILE_TTL_MS = 60_000;
/** Retention is enforced at most this often (it deletes across the tables). */
const PRUNE_EVERY_MS = 3_600_000;
/** Rows of each table deleted per transaction. */
const PRUNE_ROWS = 5_000;

/** Label groups as stored: sealed under the master key when one is set (they describe patients). */
function sealedGroups(
  cipher: ArtifactCipher | undefined,
  groups: Record<string, string> | null,
): Record<string, string> | null {
  return groups && (sealJson(cipher, groups) as Record<string, string>);
}

const thresholdOf = (rule: AlertRule): { above: number } | { below: number } =>
  rule.above !== undefined ? { above: rule.above } : { below: rule.below! };

function parseLabelItems(raw: unknown): LabelInput[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MONITORING_LIMITS.maxLabels) {
    throw new GalenError(
      'invalid_input',
      `labels is a list of 1 to ${MONITORING_LIMITS.maxLabels} entries, each {"id": "<request id>", "label": …, "row"?: n, "groups"?: {…}}`,
    );
  }
  return (raw as unknown[]).map((entry, i) => {
    const item = entry as Partial<Record<keyof LabelInput, unknown>> | null;
    if (typeof item?.id !== 'string' || item.id === '' || item.id.length > 256)
      throw new GalenError('invalid_input', `labels[${i}].id is the request's id, 1–256 characters`);
    if (
      item.row !== undefined &&
      (typeof item.row !== 'number' || !Number.isInteger(item.row) || item.row < 0)
    )
      throw new GalenError('invalid_input', `labels[${i}].row is a row number of the request, from 0`);
    return {
      id: item.id,
      label: item.label,
      ...(typeof item.row === 'number' && { row: item.row }),
      ...(item.groups !== undefined && { groups: item.groups as Record<string, string> }),
    };
  });
}

function parseGroups(raw: unknown): Record<string, string> | null {
  if (raw === undefined || raw === null) return null;
  if (
    typeof raw !== 'object' ||
    Array.isArray(raw) ||
    Object.keys(raw).length > MONITORING_LIMITS.groupAttributes ||
    Object.entries(raw).some(
      ([k, v]) => k === '' || k.length > 64 || k === 'sealed' || typeof v !== 'string' || v.length > 64,
    )
  ) {
    throw new GalenError(
      'invalid_input',
      `groups is an object of at most ${MONITORING_LIMITS.groupAttributes} attributes, each a name (not "sealed", which marks encrypted groups) and a text value of at most 64 characters, e.g. {"sex": "F"}`,
    );
  }
  return raw as Record<string, string>;
}

/** A profile for a version without a stored one: how to read its features and output, no references. */
function derivedProfile(version: ModelVersion, clock: Clock): MonitoringProfile | null {
  let output;
  try {
    output = scoredOutputFor(
      version.signature,
      { lineageClasses: version.lineage.parameters?.['classes'] },
      'the model',
    );
  } catch {
    return null;
  }
  const layout = tabularLayoutOf(version.signature);
  return {
    schema: PROFILE_SCHEMA,
    ...(layout && { layout }),
    output,
    features: {},
    subgroupFeatures: [],
    source: 'none: no reference was given (PUT …/monitoring/reference)',
    createdAt: isoTime(clock.now()),
  };
}

function referenceView(profile: MonitoringProfile | null): MonitoringReport['reference'] {
  if (!profile) return null;
  const hasReference = Object.keys(profile.features).length > 0 || profile.prediction !== undefined;
  return {
    source: profile.source,
    createdAt: hasReference ? profile.createdAt : null,
    features: Object.keys(profile.features),
    prediction: profile.prediction !== undefined,
    ...(profile.baseline && { baseline: profile.baseline }),
  };
}
