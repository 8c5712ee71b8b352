/**
 * Prometheus metrics: per model/version inference counts and duration histograms (request,
 * queue, compute), loaded models, and HTTP requests by route. The only user of prom-client.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const SECONDS_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const PROCESS_PREFIX = 'galen_process_';

/** What Node's (undocumented, but long-standing) active-handle and -request lists give. */
interface NodeProcessInternals {
  _getActiveHandles?: () => unknown[];
  _getActiveRequests?: () => unknown[];
}

/**
 * prom-client's defaults include three gauges named `…_total` (the count of active handles,
 * requests and resources), a suffix Prometheus reserves for counters (promtool flags them). They
 * are replaced by the same counts named `galen_process_nodejs_{handles,requests,resources}_active`;
 * the per-type gauges (`galen_process_nodejs_active_handles{type}`, …) stay.
 */
function renameTotalGauges(registry: Registry): void {
  const node = process as unknown as NodeProcessInternals;
  const counts: Record<string, (() => number) | undefined> = {
    handles: node._getActiveHandles && (() => node._getActiveHandles!().length),
    requests: node._getActiveRequests && (() => node._getActiveRequests!().length),
    resources: () => process.getActiveResourcesInfo().length,
  };
  for (const [what, count] of Object.entries(counts)) {
    const old = `${PROCESS_PREFIX}nodejs_active_${what}_total`;
    if (registry.getSingleMetric(old) === undefined || count === undefined) continue;
    registry.removeSingleMetric(old);
    new Gauge({
      name: `${PROCESS_PREFIX}nodejs_${what}_active`,
      help: `Number of active ${what} (libuv ${what === 'resources' ? 'resources keeping the event loop alive' : what}).`,
      registers: [registry],
      collect() {
        this.set(count());
      },
    });
  }
}

export interface InferenceObservation {
  model: string;
  version: string;
  protocol: string;
  outcome: 'success' | 'failure';
  requestSeconds: number;
  queueSeconds?: number;
  computeSeconds?: number;
}

interface InferenceChildren {
  count: Counter.Internal;
  request: Histogram.Internal<string>;
  queue: Histogram.Internal<string>;
  compute: Histogram.Internal<string>;
}

export class GalenMetrics {
  readonly registry = new Registry();
  private readonly inferences: Counter<'model' | 'version' | 'protocol' | 'outcome'>;
  private readonly requestDuration: Histogram<'model' | 'version' | 'protocol'>;
  private readonly queueDuration: Histogram<'model' | 'version'>;
  private readonly computeDuration: Histogram<'model' | 'version'>;
  private readonly httpRequests: Histogram<'method' | 'route' | 'status'>;
  private readonly batchSize: Histogram<'model' | 'version'>;
  private readonly monitoringRowCount: Counter<'model' | 'outcome'>;
  private readonly featurePsi: Gauge<'model' | 'version' | 'feature'>;
  private readonly windowFigures: Gauge<'model' | 'version' | 'figure'>;
  private readonly alertFiring: Gauge<'model' | 'version' | 'rule'>;
  private readonly alertTransitions: Counter<'model' | 'rule' | 'state'>;
  private readonly webhookFailures: Counter<'model' | 'rule'>;
  private readonly solves: Counter<'problem' | 'status'>;
  private readonly solveDuration: Histogram<'problem'>;

  constructor(loadedModels: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: PROCESS_PREFIX });
    renameTotalGauges(this.registry);
    this.inferences = new Counter({
      name: 'galen_inference_requests_total',
      help: 'Inference requests by model, version, protocol and outcome.',
      labelNames: ['model', 'version', 'protocol', 'outcome'],
      registers: [this.registry],
    });
    this.requestDuration = new Histogram({
      name: 'galen_inference_request_duration_seconds',
      help: 'Time from receiving an inference request to having its outputs.',
      labelNames: ['model', 'version', 'protocol'],
      buckets: SECONDS_BUCKETS,
      registers: [this.registry],
    });
    this.queueDuration = new Histogram({
      name: 'galen_inference_queue_duration_seconds',
      help: "Time an inference waited for a slot under its model's concurrency limit.",
      labelNames: ['model', 'version'],
      buckets: SECONDS_BUCKETS,
      registers: [this.registry],
    });
    this.computeDuration = new Histogram({
      name: 'galen_inference_compute_duration_seconds',
      help: 'Time ONNX Runtime spent computing an inference.',
      labelNames: ['model', 'version'],
      buckets: SECONDS_BUCKETS,
      registers: [this.registry],
    });
    this.httpRequests = new Histogram({
      name: 'galen_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: SECONDS_BUCKETS,
      registers: [this.registry],
    });
    this.batchSize = new Histogram({
      name: 'galen_inference_batch_size',
      help: 'Rows per model execution (merged calls count together under dynamic batching).',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [this.registry],
    });
    this.monitoringRowCount = new Counter({
      name: 'galen_monitoring_rows_total',
      help: 'Prediction rows offered to monitoring: recorded, or dropped because the write queue was full or failed.',
      labelNames: ['model', 'outcome'],
      registers: [this.registry],
    });
    this.featurePsi = new Gauge({
      name: 'galen_monitoring_feature_psi',
      help: "Population stability index of each input over the monitoring window, against the version's reference.",
      labelNames: ['model', 'version', 'feature'],
      registers: [this.registry],
    });
    this.windowFigures = new Gauge({
      name: 'galen_monitoring_window',
      help: 'Figures of the monitoring window per version: samples, labelled, prediction_psi, drifted_features, auroc, brier, calibration_error, accuracy, rmse, mae, subgroup_gap.',
      labelNames: ['model', 'version', 'figure'],
      registers: [this.registry],
    });
    this.alertFiring = new Gauge({
      name: 'galen_monitoring_alert_firing',
      help: 'Whether an alert rule is firing (1) or not (0) for a version.',
      labelNames: ['model', 'version', 'rule'],
      registers: [this.registry],
    });
    this.alertTransitions = new Counter({
      name: 'galen_monitoring_alerts_total',
      help: 'Alert rule state changes (firing, resolved).',
      labelNames: ['model', 'rule', 'state'],
      registers: [this.registry],
    });
    this.webhookFailures = new Counter({
      name: 'galen_monitoring_webhook_failures_total',
      help: 'Alert webhooks that could not be delivered after retrying.',
      labelNames: ['model', 'rule'],
      registers: [this.registry],
    });
    this.solves = new Counter({
      name: 'galen_optimize_solves_total',
      help: 'Optimisation solves by problem (a template, or "model") and status (optimal, infeasible, time_limit, ..., or error).',
      labelNames: ['problem', 'status'],
      registers: [this.registry],
    });
    this.solveDuration = new Histogram({
      name: 'galen_optimize_solve_seconds',
      help: 'Time a solve took, building the problem (and any predictions it needs) included.',
      labelNames: ['problem'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers: [this.registry],
    });
    new Gauge({
      name: 'galen_models_loaded',
      help: 'Model versions currently loaded in ONNX Runtime.',
      registers: [this.registry],
      collect() {
        this.set(loadedModels());
      },
    });
  }

  /** Labelled children per label set: prom-client hashes the labels on every call otherwise. */
  private readonly children = new Map<string, InferenceChildren>();

  observeInference(o: InferenceObservation): void {
    const key = `${o.model}\u0000${o.version}\u0000${o.protocol}\u0000${o.outcome}`;
    let c = this.children.get(key);
    if (!c) {
      if (this.children.size > 10_000) this.children.clear();
      c = {
        count: this.inferences.labels(o.model, o.version, o.protocol, o.outcome),
        request: this.requestDuration.labels(o.model, o.version, o.protocol),
        queue: this.queueDuration.labels(o.model, o.version),
        compute: this.computeDuration.labels(o.model, o.version),
      };
      this.children.set(key, c);
    }
    c.count.inc();
    c.request.observe(o.requestSeconds);
    if (o.queueSeconds !== undefined) c.queue.observe(o.queueSeconds);
    if (o.computeSeconds !== undefined) c.compute.observe(o.computeSeconds);
  }

  observeExecution(model: string, version: string, rows: number): void {
    this.batchSize.observe({ model, version }, rows);
  }

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.observe({ method, route, status: String(status) }, seconds);
  }

  monitoringRows(model: string, outcome: 'recorded' | 'dropped', rows: number): void {
    this.monitoringRowCount.inc({ model, outcome }, rows);
  }

  /** Replaces a version's window gauges: PSI per input and the window's figures (absent ones are removed). */
  setMonitoringWindow(
    model: string,
    version: string,
    psi: Record<string, number>,
    figures: Record<string, number | undefined>,
  ): void {
    for (const [feature, value] of Object.entries(psi))
      this.featurePsi.set({ model, version, feature }, value);
    for (const [figure, value] of Object.entries(figures)) {
      if (value === undefined) this.windowFigures.remove({ model, version, figure });
      else this.windowFigures.set({ model, version, figure }, value);
    }
  }

  alertState(model: string, version: string, rule: string, firing: boolean): void {
    this.alertFiring.set({ model, version, rule }, firing ? 1 : 0);
  }

  alertTransition(model: string, rule: string, state: 'firing' | 'resolved'): void {
    this.alertTransitions.inc({ model, rule, state });
  }

  webhookFailed(model: string, rule: string): void {
    this.webhookFailures.inc({ model, rule });
  }

  observeSolve(problem: string, status: string, seconds: number): void {
    this.solves.inc({ problem, status });
    this.solveDuration.observe({ problem }, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
