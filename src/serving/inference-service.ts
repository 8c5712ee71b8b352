/**
 * The protocol-neutral inference path shared by every edge: resolve `model[:version|alias]`,
 * lease the loaded session, validate the inputs against its signature, run, and report.
 */
import { hrtime } from 'node:process';
import {
  GalenError,
  PRODUCTION_ALIAS,
  compileRangeCheck,
  parseServingSettings,
  trainingRangesOf,
} from '../core/index.js';
import type {
  Actor,
  PreprocessedInputSpec,
  RangeCheck,
  ServingSettings,
  Signature,
  Tensor,
} from '../core/index.js';
import type { GalenMetrics } from '../observability/index.js';
import type { ModelRegistry, ModelVersion } from '../registry/index.js';
import type { ModelRuntime, ServingDefaults, VersionStats } from '../runtime/index.js';
import { decodeImageInputs } from '../images/index.js';
import { versionKey } from './model-manager.js';
import type { ModelManager } from './model-manager.js';
import { DEFAULT_TENSOR_LIMITS, TensorBudget, checkDeclaredLimits } from './tensor-limits.js';
import type { EncodedInputs, TensorLimits } from './tensor-limits.js';
import { checkDeclaredInputs, selectOutputs, validateInputs } from './validate-inputs.js';

export interface InferenceRequest {
  model: string;
  /** A version number or alias; omitted = `production` alias, else the latest version. */
  version?: string | undefined;
  id?: string | undefined;
  /**
   * Decoded tensors, or inputs still in their wire form: those are checked against the version's
   * signature and the tensor limits before they are decoded.
   */
  inputs: Tensor[] | EncodedInputs;
  /** Output names to return; omitted = all. */
  outputs?: string[] | undefined;
  /** Longest this call may wait in the model's queue (µs); shortens the model's own limit. */
  timeoutMicros?: number | undefined;
  /** Which edge the call came through, for metrics (`oip-http`, `tfserving`, ...). */
  protocol: string;
  /**
   * Galen's own call (explanations, monitoring references, the demo's evaluation): monitoring does
   * not sample it and the version's statistics (Triton's `inference_count`, `execution_count`, …)
   * do not count it, since they describe client traffic; the Prometheus request metrics count it
   * under its own `protocol`.
   */
  internal?: boolean;
}

/** Where answered requests are offered for monitoring (sampled there, off the request path). */
export interface PredictionRecorder {
  record(
    version: ModelVersion,
    id: string | undefined,
    inputs: readonly Tensor[],
    outputs: readonly Tensor[],
  ): void;
}

export interface InferenceResult {
  model: string;
  version: number;
  id?: string;
  outputs: Tensor[];
  queueNs: number;
  computeNs: number;
  /**
   * Which numeric inputs fell outside the version's training ranges, in words
   * (`age=17 below training range 29–77`; `row 2: …` in a batch); only for versions trained by
   * Galen from a table, and only when some value is outside.
   */
  outOfRange?: string;
}

export interface ModelMetadata {
  name: string;
  version: number;
  /** Every version that is not archived, as OIP lists them. */
  versions: number[];
  platform: 'onnxruntime_onnx';
  signature: Signature;
}

/** A model's serving settings: what it sets, and what is in force with the server defaults. */
export interface ServingView {
  model: string;
  settings: ServingSettings;
  effective: ServingDefaults;
}

export interface VersionStatistics extends VersionStats {
  model: string;
  version: number;
}

const label = (v: Pick<ModelVersion, 'model' | 'version'>): string =>
  `model "${v.model}" version ${v.version}`;

/**
 * Runs the steps a version declares in its metadata (`galen.preprocessing`) on a request's inputs
 * before the graph: each preprocessed input is replaced by the graph input it feeds. preprocessing/
 * implements it; app/ wires it, so serving stays below the features it runs.
 */
export interface InputPreprocessor {
  apply(specs: readonly PreprocessedInputSpec[], inputs: readonly Tensor[]): Promise<Tensor[]>;
}

export class InferenceService {
  /**
   * Each resolved version's range check, compiled once (the registry hands out the same object
   * while it is unchanged); null for versions without training ranges.
   */
  private readonly rangeChecks = new WeakMap<ModelVersion, RangeCheck | null>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly manager: ModelManager,
    private readonly runtime: ModelRuntime,
    private readonly metrics: GalenMetrics,
    private readonly recorder?: PredictionRecorder,
    private readonly preprocessor?: InputPreprocessor,
    private readonly limits: TensorLimits = DEFAULT_TENSOR_LIMITS,
  ) {}

  /** The limits on what one request may make the server decode (the `tensors.*` settings). */
  get tensorLimits(): TensorLimits {
    return this.limits;
  }

  /** Runs one inference. The version is resolved once, so a concurrent alias move cannot split it. */
  async infer(request: InferenceRequest): Promise<InferenceResult> {
    const started = hrtime.bigint();
    const version = await this.registry.resolve(request.model, request.version);
    const lease = await this.manager.lease(version);
    const seconds = (): number => Number(hrtime.bigint() - started) / 1e9;
    try {
      const images = version.signature.imageInputs;
      const steps = version.signature.preprocessedInputs;
      const given = this.decodeChecked(version, request.inputs);
      let inputs = images ? await decodeImageInputs(images, given) : given;
      if (steps) {
        if (!this.preprocessor)
          throw new GalenError(
            'not_implemented',
            `${label(version)} needs preprocessing this server does not run`,
          );
        inputs = await this.preprocessor.apply(steps, inputs);
      }
      validateInputs(label(version), lease.signature, inputs);
      const outputNames = selectOutputs(label(version), lease.signature, request.outputs);
      const run = await lease.run(inputs, outputNames, request.timeoutMicros, request.internal);
      this.metrics.observeInference({
        model: version.model,
        version: String(version.version),
        protocol: request.protocol,
        outcome: 'success',
        requestSeconds: seconds(),
        queueSeconds: run.queueNs / 1e9,
        computeSeconds: run.computeNs / 1e9,
      });
      if (!request.internal) this.recorder?.record(version, request.id, inputs, run.outputs);
      const outOfRange = request.internal ? undefined : this.rangeCheckOf(version)?.(inputs);
      return {
        model: version.model,
        version: version.version,
        ...(request.id !== undefined && { id: request.id }),
        ...(outOfRange !== undefined && { outOfRange }),
        outputs: run.outputs,
        queueNs: run.queueNs,
        computeNs: run.computeNs,
      };
    } catch (err) {
      if (!request.internal) {
        this.runtime.recordFailure(
          versionKey(version.model, version.version),
          Number(hrtime.bigint() - started),
        );
      }
      this.metrics.observeInference({
        model: version.model,
        version: String(version.version),
        protocol: request.protocol,
        outcome: 'failure',
        requestSeconds: seconds(),
      });
      throw err;
    } finally {
      lease.release();
    }
  }

  private rangeCheckOf(version: ModelVersion): RangeCheck | undefined {
    let check = this.rangeChecks.get(version);
    if (check === undefined) {
      check = compileRangeCheck(version.signature, trainingRangesOf(version.lineage.parameters)) ?? null;
      this.rangeChecks.set(version, check);
    }
    return check ?? undefined;
  }

  /**
   * The tensors of a request: encoded inputs are decoded only after what they declare has passed
   * the version's signature and the limits, so no work is done for a request that cannot run.
   */
  private decodeChecked(version: ModelVersion, inputs: Tensor[] | EncodedInputs): Tensor[] {
    if (Array.isArray(inputs)) return inputs;
    checkDeclaredInputs(label(version), version.signature, inputs.declared);
    checkDeclaredLimits(this.limits, inputs.declared);
    return inputs.decode(new TensorBudget(this.limits));
  }

  /** Metadata of the version a call would use; loads it (on demand) to read the live signature. */
  async metadata(model: string, ref?: string): Promise<ModelMetadata> {
    const version = await this.registry.resolve(model, ref);
    const detail = await this.registry.getModel(model);
    return {
      name: model,
      version: version.version,
      versions: detail.versions.filter((v) => !v.archived).map((v) => v.version),
      platform: 'onnxruntime_onnx',
      signature: version.signature,
    };
  }

  /** Whether the version is ready; a version not yet loaded is loaded now (on-demand loading). */
  async ready(model: string, ref?: string): Promise<boolean> {
    const version = await this.registry.resolve(model, ref);
    if (this.manager.isUnloaded(model)) return false;
    try {
      await this.manager.ensureLoaded(version);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Moves an alias with no gap in service: the target is loaded and warmed before the alias
   * moves, and the version it left is unloaded (after its in-flight calls) if nothing else
   * points at it and it is not the model's default.
   */
  async moveAlias(
    model: string,
    alias: string,
    version: number,
    actor: Actor,
  ): Promise<{ previous: number | null }> {
    const target = await this.registry.getVersion(model, version);
    if (!this.manager.isUnloaded(model) && !target.archived) await this.manager.ensureLoaded(target);
    const result = await this.registry.setAlias(model, alias, version, actor);
    if (result.previous !== null && result.previous !== version)
      await this.retireIfUnused(model, result.previous);
    return result;
  }

  async removeAlias(model: string, alias: string, actor: Actor): Promise<{ previous: number }> {
    const result = await this.registry.removeAlias(model, alias, actor);
    await this.retireIfUnused(model, result.previous);
    return result;
  }

  private async retireIfUnused(model: string, version: number): Promise<void> {
    const detail = await this.registry.getModel(model);
    if (Object.values(detail.aliases).includes(version)) return;
    const fallback =
      detail.aliases[PRODUCTION_ALIAS] ?? detail.versions.filter((v) => !v.archived).at(-1)?.version;
    if (fallback === version) return;
    // Not awaited by the caller's response: the old session drains in the background.
    void this.manager.unloadVersion(model, version);
  }

  /** A model's serving settings and the values in force. */
  async serving(model: string): Promise<ServingView> {
    const settings = await this.registry.servingOf(model);
    return { model, settings, effective: this.effective(settings) };
  }

  private effective(settings: ServingSettings): ServingDefaults {
    return { ...this.runtime.servingDefaults(), ...settings };
  }

  /**
   * Replaces a model's serving settings (`{}` = server defaults), checked first; they apply at
   * once to its loaded versions, and to every version loaded later.
   */
  async configureServing(model: string, value: unknown, actor: Actor): Promise<ServingView> {
    const settings = parseServingSettings(value, this.runtime.servingDefaults().maxBatchSize);
    const effective = this.effective(settings);
    if (effective.preferredBatchSizes.some((s) => s > effective.maxBatchSize)) {
      throw new GalenError(
        'invalid_input',
        `the preferred batch sizes in force ${JSON.stringify(effective.preferredBatchSizes)} exceed maxBatchSize ${effective.maxBatchSize}; set preferredBatchSizes too`,
      );
    }
    await this.registry.setServing(model, settings, actor);
    this.runtime.configure(model, settings);
    return { model, settings, effective };
  }

  /** Statistics per version: of one version, of one model, or of everything used so far. */
  async statistics(model?: string, ref?: string): Promise<VersionStatistics[]> {
    if (model !== undefined && ref !== undefined) {
      const v = await this.registry.resolve(model, ref);
      return [{ model, version: v.version, ...this.runtime.statsOf(versionKey(model, v.version)) }];
    }
    const models =
      model !== undefined
        ? [await this.registry.getModel(model)]
        : await Promise.all((await this.registry.listModels()).map((m) => this.registry.getModel(m.name)));
    const result: VersionStatistics[] = [];
    for (const m of models) {
      for (const v of m.versions) {
        const stats = this.runtime.statsOf(versionKey(m.name, v.version));
        if (model !== undefined || stats.executionCount + stats.fail.count > 0 || this.manager.isLoaded(v)) {
          result.push({ model: m.name, version: v.version, ...stats });
        }
      }
    }
    return result;
  }
}

/** Longest per-request timeout a caller may ask for (µs): one hour. */
const MAX_TIMEOUT_MICROS = 3_600_000_000;

/**
 * Checks a request's `timeout` parameter (µs, as Triton's schedule-policy extension defines it);
 * 0 or absent = the model's own queue timeout.
 */
export function parseTimeoutMicros(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMEOUT_MICROS) {
    throw new GalenError(
      'invalid_input',
      `parameter "timeout" is ${JSON.stringify(value)}; it is the longest time in microseconds the call may wait in the model's queue, an integer from 0 (model default) to ${MAX_TIMEOUT_MICROS}`,
    );
  }
  return value === 0 ? undefined : value;
}

export function assertVersionNumber(ref: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(ref))
    throw new GalenError('invalid_input', `"${ref}" is not a version number`);
  return Number(ref);
}
