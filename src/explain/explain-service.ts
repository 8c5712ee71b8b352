/**
 * Per-prediction explanations (`POST /v2/models/{m}/explain`): Shapley values of each row's output
 * over the version's players, against the background sample stored with the version. Galen's
 * linear and tree pipelines are explained exactly from the trained pipeline; any other model by
 * KernelSHAP, running coalitions through the ordinary inference path. Cost is bounded (rows,
 * coalitions, background rows, a deadline) and the settings used come back with the answer.
 */
import {
  GalenError,
  layoutFor,
  rowsFromTensors,
  scoredOutputFor,
  shortestFloat32,
  tensorsFromRows,
} from '../core/index.js';
import type { Actor, Signature, Tensor } from '../core/index.js';
import { decodeImageInputs, saliencyOverlayPng } from '../images/index.js';
import type { PixelShape } from '../images/index.js';
import type { ModelRegistry, ModelVersion } from '../registry/index.js';
import type { InferenceService } from '../serving/index.js';
import { predictPipeline, sampleRows } from '../training/index.js';
import {
  EXPLAINER_SCHEMA,
  exactShapley,
  explainerView,
  columnsOf,
  playerNames,
  readExplainer,
} from './explainer.js';
import type { Cell, ExplainedOutput, ExplainerData, ExplainerView } from './explainer.js';
import { defaultPatch, occlusionSaliency } from './saliency.js';
import { kernelShapPlan, solveKernelShap } from './shapley.js';
import type { Shapley } from './shapley.js';

export const EXPLAIN_LIMITS = {
  maxRows: 16,
  maxCoalitions: 16_384,
  defaultCoalitions: 2048,
  defaultKernelBackground: 50,
  /** Model rows one call may run in all (rows × coalitions × background rows). */
  maxEvaluations: 4_000_000,
  defaultTimeoutMs: 30_000,
  maxTimeoutMs: 120_000,
  /** Rows per inference call while evaluating coalitions. */
  chunkRows: 32_768,
  /** Occluded images per inference call. */
  imageChunk: 64,
} as const;

export type ExplainMethod = 'auto' | 'exact' | 'kernel';

export interface ExplainRequest {
  model: string;
  version?: string | undefined;
  /** The rows to explain, as the model's inputs. */
  inputs: Tensor[];
  method?: ExplainMethod | undefined;
  /** Class label to explain (default: the positive class of two, else the predicted class). */
  class?: string | undefined;
  maxCoalitions?: number | undefined;
  backgroundRows?: number | undefined;
  timeoutMs?: number | undefined;
  seed?: number | undefined;
  /** Image models: side of the occluding patch in model pixels (default about a seventh of the image). */
  patch?: number | undefined;
}

export interface Attribution {
  name: string;
  /** The row's value of the player. */
  value: Cell;
  /** Its Shapley value, in the units of `output.explained`. */
  shap: number;
}

export interface RowExplanation {
  /** The explained output for this row. */
  output: number;
  /** Mean output over the background: output = base + Σ shap. */
  base: number;
  class?: string;
  /** Every player, largest |shap| first. */
  attributions: Attribution[];
}

export interface ExplainResult {
  model_name: string;
  model_version: string;
  method: 'linear' | 'trees' | 'kernel';
  /** True when the values are exact Shapley values, not estimates. */
  exact: boolean;
  output: { tensor: string; explained: string };
  settings: {
    backgroundRows: number;
    coalitions?: number;
    seed?: number;
    timeoutMs: number;
    modelRowsRun: number;
    elapsedMs: number;
  };
  explanations: RowExplanation[];
}

/** An image model's explanation: an occlusion saliency map and its overlay. */
export interface ImageExplanation {
  /** The explained probability. */
  output: number;
  class?: string;
  saliency: { height: number; width: number; values: number[] };
  /** The map over the image, red for evidence for the class and blue against (base64 PNG). */
  overlay_png: string;
}

export interface ImageExplainResult {
  model_name: string;
  model_version: string;
  method: 'occlusion';
  exact: false;
  output: { tensor: string; explained: string };
  settings: {
    patch: number;
    stride: number;
    windows: number;
    fill: string;
    timeoutMs: number;
    modelRowsRun: number;
    elapsedMs: number;
  };
  explanations: ImageExplanation[];
}

/** The image a model's explanation occludes: its pixel input and shape. */
function imageInputOf(signature: Signature): { into: string; shape: PixelShape } | undefined {
  const declared = signature.imageInputs?.[0];
  if (declared) {
    return {
      into: declared.into,
      shape: { channels: declared.channels, height: declared.height, width: declared.width },
    };
  }
  const only = signature.inputs.length === 1 ? signature.inputs[0]! : undefined;
  const [, c, h, w] = only?.shape ?? [];
  if (only?.datatype === 'FP32' && only.shape.length === 4 && (c === 1 || c === 3) && h! > 1 && w! > 1) {
    return { into: only.name, shape: { channels: c, height: h!, width: w! } };
  }
  return undefined;
}

const logit = (p: number): number => {
  const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return Math.log(q / (1 - q));
};

/** A row's value as the answer gives it: an FP32 number as the decimal sent (2.3, not 2.2999999…). */
function shownCell(value: Cell | undefined): Cell {
  return typeof value === 'number' ? shortestFloat32(value) : (value ?? null);
}

function integer(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new GalenError('invalid_input', `${name} is ${value}; use an integer from 1 to ${max}`);
  }
  return value;
}

/** The class index to explain for a request. */
function classIndex(output: ExplainedOutput, label: string | undefined, predicted: number): number {
  if (output.task === 'regression') {
    if (label !== undefined) throw new GalenError('invalid_input', 'a regression model has no class to pick');
    return 0;
  }
  // Two classes: the positive one; more: the predicted one.
  if (label === undefined) return output.task === 'binary' ? 1 : predicted;
  const classes = output.classes ?? [];
  const k = classes.indexOf(label);
  if (k < 0) {
    throw new GalenError(
      'invalid_input',
      `class "${label}" is not one of ${classes.map((c) => `"${c}"`).join(', ')}`,
    );
  }
  return k;
}

function describeOutput(output: ExplainedOutput, k: number, method: ExplainResult['method']): string {
  const name = output.classes?.[k] ?? `class ${k}`;
  if (output.task === 'regression') return `the predicted value (${output.tensor})`;
  if (output.task === 'binary') {
    return k === 1 ? `log-odds of P(${name})` : `log-odds of P(${name}) (the negative class)`;
  }
  return method === 'kernel' ? `log P(${name})` : `score of class ${name} (its logit before the softmax)`;
}

/** What a background upload gives for a model Galen did not train. */
export interface BackgroundUpload {
  model: string;
  version: number;
  /** Background rows as the model's inputs (10 to 1,000 rows of its training data). */
  inputs: Tensor[];
  /** The output to explain (default `probabilities`, else `prediction`, else the first). */
  output?: string | undefined;
  /** Class labels of that output, in order (default: the version's, else "class 0", …). */
  classes?: string[] | undefined;
  /** Names of the elements of a single [-1, K] input (default: its `feature_names` metadata, else input[j]). */
  names?: string[] | undefined;
}

export const BACKGROUND_LIMITS = { min: 10, max: 1000 } as const;

export class ExplainService {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly inference: InferenceService,
  ) {}

  async explain(request: ExplainRequest): Promise<ExplainResult | ImageExplainResult> {
    const version = await this.registry.resolve(request.model, request.version);
    const image = imageInputOf(version.signature);
    return image ? this.explainImage(version, image, request) : this.explainRows(version, request);
  }

  /** Shapley values for tabular rows (what FHIR rationales use). */
  async explainRows(version: ModelVersion, request: ExplainRequest): Promise<ExplainResult> {
    const started = performance.now();
    const what = `model "${version.model}" version ${version.version}`;
    const data = readExplainer(await this.registry.getExplainer(version.model, version.version));
    const players = playerNames(data.layout);
    const rows = rowsFromTensors(data.layout, request.inputs, what);
    if (rows.length === 0 || rows.length > EXPLAIN_LIMITS.maxRows) {
      throw new GalenError(
        'invalid_input',
        `explain takes 1 to ${EXPLAIN_LIMITS.maxRows} rows at a time; this request has ${rows.length}`,
      );
    }
    const timeoutMs = integer(
      'timeout_ms',
      request.timeoutMs,
      EXPLAIN_LIMITS.defaultTimeoutMs,
      EXPLAIN_LIMITS.maxTimeoutMs,
    );
    const method = request.method ?? 'auto';
    if (!['auto', 'exact', 'kernel'].includes(method)) {
      throw new GalenError('invalid_input', `method "${String(method)}" is not one of auto, exact, kernel`);
    }
    if (method === 'exact' && !data.pipeline) {
      throw new GalenError(
        'invalid_input',
        `${what} has no exact path (it was not trained by Galen as a linear or tree pipeline); use method "kernel"`,
      );
    }
    // Each row's predicted class: from the pipeline on the exact path (the model need not run),
    // else from the rows run through the served graph (which also checks them).
    const exactPath = data.pipeline !== undefined && method !== 'kernel';
    const scores = exactPath
      ? (predictPipeline(data.pipeline!, columnsOf(rows, players)).probabilities?.map((p) => Array.from(p)) ??
        rows.map(() => [0]))
      : await this.run(version.model, version.version, data, rows);
    const ks = scores.map((p) => classIndex(data.output, request.class, p.indexOf(Math.max(...p))));

    let shapley: Shapley[];
    let exact = true;
    let settings: ExplainResult['settings'];
    let resultMethod: ExplainResult['method'];
    if (exactPath) {
      const background = data.background;
      shapley = rows.map((row, i) => {
        // Binary pipelines have one score (the positive class's log-odds); explaining the negative class flips it.
        const k = data.output.task === 'multiclass' ? ks[i]! : 0;
        const [s] = exactShapley(data.pipeline!, players, [row], background, k);
        return data.output.task === 'binary' && ks[i] === 0 ? negate(s!) : s!;
      });
      resultMethod = data.pipeline!.model.type === 'linear' ? 'linear' : 'trees';
      settings = {
        backgroundRows: background.length,
        timeoutMs,
        modelRowsRun: 0,
        elapsedMs: 0,
      };
    } else {
      const count = integer(
        'background_rows',
        request.backgroundRows,
        Math.min(EXPLAIN_LIMITS.defaultKernelBackground, data.background.length),
        data.background.length,
      );
      const seed = request.seed ?? 42;
      const background = sampleRows(
        data.background.map((_, i) => i),
        count,
        seed,
      ).map((i) => data.background[i]!);
      const plan = kernelShapPlan(players.length, {
        maxCoalitions: integer(
          'max_coalitions',
          request.maxCoalitions,
          EXPLAIN_LIMITS.defaultCoalitions,
          EXPLAIN_LIMITS.maxCoalitions,
        ),
        seed,
      });
      const evaluations = rows.length * (plan.coalitions.length + 1) * background.length;
      if (evaluations > EXPLAIN_LIMITS.maxEvaluations) {
        throw new GalenError(
          'invalid_input',
          `this explanation would run the model on ${evaluations} rows (rows × coalitions × background rows); the limit is ${EXPLAIN_LIMITS.maxEvaluations}: ask for fewer rows, max_coalitions or background_rows`,
        );
      }
      const deadline = { at: started + timeoutMs, ms: timeoutMs };
      shapley = [];
      for (const [i, row] of rows.entries()) {
        shapley.push(
          await this.kernel(
            version.model,
            version.version,
            data,
            row,
            scores[i]!,
            ks[i]!,
            background,
            plan,
            deadline,
          ),
        );
      }
      exact = plan.exact;
      resultMethod = 'kernel';
      settings = {
        backgroundRows: background.length,
        coalitions: plan.coalitions.length,
        seed,
        timeoutMs,
        modelRowsRun: rows.length + evaluations,
        elapsedMs: 0,
      };
    }
    settings.elapsedMs = Math.round(performance.now() - started);
    return {
      model_name: version.model,
      model_version: String(version.version),
      method: resultMethod,
      exact,
      output: { tensor: data.output.tensor, explained: describeOutput(data.output, ks[0]!, resultMethod) },
      settings,
      explanations: shapley.map((s, i) => ({
        output: s.output,
        base: s.base,
        ...(data.output.classes && { class: data.output.classes[ks[i]!] ?? `class ${ks[i]}` }),
        attributions: players
          .map((name, j) => ({ name, value: shownCell(rows[i]![j]), shap: s.values[j]! }))
          .sort((a, b) => Math.abs(b.shap) - Math.abs(a.shap)),
      })),
    };
  }

  /** Occlusion saliency for one image, through the served graph. */
  private async explainImage(
    version: ModelVersion,
    image: { into: string; shape: PixelShape },
    request: ExplainRequest,
  ): Promise<ImageExplainResult> {
    const started = performance.now();
    const what = `model "${version.model}" version ${version.version}`;
    const { channels, height, width } = image.shape;
    const decoded = version.signature.imageInputs
      ? await decodeImageInputs(version.signature.imageInputs, request.inputs)
      : request.inputs;
    const pixels = decoded.find((t) => t.name === image.into);
    const size = channels * height * width;
    if (!pixels || pixels.datatype !== 'FP32' || (pixels.data as Float32Array).length !== size) {
      throw new GalenError(
        'invalid_input',
        `${what} explains one image at a time: ${version.signature.imageInputs ? `"${version.signature.imageInputs[0]!.name}" (one PNG or JPEG) or ` : ''}"${image.into}" FP32 [1, ${channels}, ${height}, ${width}]`,
      );
    }
    const outputs = version.signature.outputs;
    const tensor =
      outputs.find((o) => o.name === 'probabilities') ?? outputs.find((o) => o.datatype === 'FP32');
    if (!tensor) throw new GalenError('invalid_input', `${what} has no FP32 output to explain`);
    const classesOf = version.lineage.parameters?.['classes'];
    const classes = Array.isArray(classesOf) ? classesOf.map(String) : undefined;
    const timeoutMs = integer(
      'timeout_ms',
      request.timeoutMs,
      EXPLAIN_LIMITS.defaultTimeoutMs,
      EXPLAIN_LIMITS.maxTimeoutMs,
    );
    const patch = integer('patch', request.patch, defaultPatch(height, width), Math.min(height, width));
    const deadline = started + timeoutMs;
    let k = -1;
    const score = async (batch: Float32Array, n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let start = 0; start < n; start += EXPLAIN_LIMITS.imageChunk) {
        if (performance.now() > deadline) {
          // No retry delay: the same call would likely spend its time again; the message says what to change.
          throw new GalenError(
            'unavailable',
            `the saliency map did not finish within timeout_ms ${timeoutMs}; ask for a larger patch`,
          );
        }
        const count = Math.min(EXPLAIN_LIMITS.imageChunk, n - start);
        const result = await this.inference.infer({
          model: version.model,
          version: String(version.version),
          inputs: [
            {
              name: image.into,
              datatype: 'FP32',
              shape: [count, channels, height, width],
              data: batch.subarray(start * size, (start + count) * size),
            },
          ],
          outputs: [tensor.name],
          protocol: 'explain',
          internal: true,
        });
        const values = result.outputs[0]!.data as Float32Array;
        const per = values.length / count;
        for (let i = 0; i < count; i++) {
          const row = Array.from(values.subarray(i * per, (i + 1) * per));
          if (k < 0) {
            k =
              request.class !== undefined
                ? classIndex(
                    {
                      tensor: tensor.name,
                      task: per === 2 ? 'binary' : 'multiclass',
                      classes: classes ?? row.map((_, c) => `class ${c}`),
                    },
                    request.class,
                    0,
                  )
                : per === 2
                  ? 1
                  : row.indexOf(Math.max(...row));
          }
          out.push(row[k] ?? row[0]!);
        }
      }
      return out;
    };
    const map = await occlusionSaliency(pixels.data as Float32Array, image.shape, score, {
      patch,
      stride: Math.max(1, Math.floor(patch / 2)),
    });
    const overlay = await saliencyOverlayPng(pixels.data as Float32Array, image.shape, map.values);
    const label = classes?.[k] ?? `class ${k}`;
    return {
      model_name: version.model,
      model_version: String(version.version),
      method: 'occlusion',
      exact: false,
      output: { tensor: tensor.name, explained: `P(${label})` },
      settings: {
        ...map.settings,
        timeoutMs,
        modelRowsRun: map.settings.windows + 1,
        elapsedMs: Math.round(performance.now() - started),
      },
      explanations: [
        {
          output: map.output,
          class: label,
          saliency: {
            height: map.height,
            width: map.width,
            values: Array.from(map.values, (v) => Math.round(v * 1e6) / 1e6),
          },
          overlay_png: overlay.toString('base64'),
        },
      ],
    };
  }

  /**
   * Gives a version Galen did not train an explainer: its background rows (run through the model
   * to check them) and the output to explain. KernelSHAP then explains it.
   */
  async setBackground(upload: BackgroundUpload, actor: Actor): Promise<ExplainerView> {
    const version = await this.registry.getVersion(upload.model, upload.version);
    const what = `model "${version.model}" version ${version.version}`;
    const layout = layoutFor(version.signature, upload.names, what);
    const output = scoredOutputFor(
      version.signature,
      {
        chosen: upload.output,
        classes: upload.classes,
        lineageClasses: version.lineage.parameters?.['classes'],
      },
      what,
    );
    const background = rowsFromTensors(layout, upload.inputs, what);
    if (background.length < BACKGROUND_LIMITS.min || background.length > BACKGROUND_LIMITS.max) {
      throw new GalenError(
        'invalid_input',
        `a background is ${BACKGROUND_LIMITS.min} to ${BACKGROUND_LIMITS.max} rows of the training data; this one has ${background.length}`,
      );
    }
    const data: ExplainerData = {
      schema: EXPLAINER_SCHEMA,
      layout,
      output,
      background,
    };
    await this.run(version.model, version.version, data, background);
    await this.registry.setExplainer(
      version.model,
      version.version,
      data as unknown as Record<string, unknown>,
      actor,
    );
    return explainerView(data);
  }

  /** What a version's explainer holds, without its background rows. */
  async view(model: string, version: number): Promise<ExplainerView> {
    return explainerView(readExplainer(await this.registry.getExplainer(model, version)));
  }

  /** The explained output's values per row (all classes, or the one value of a regression). */
  private async run(
    model: string,
    version: number,
    data: ExplainerData,
    rows: readonly Cell[][],
  ): Promise<number[][]> {
    const result = await this.inference.infer({
      model,
      version: String(version),
      inputs: tensorsFromRows(data.layout, rows),
      outputs: [data.output.tensor],
      protocol: 'explain',
      internal: true,
    });
    const out = result.outputs[0]!;
    const values = Array.from(out.data as ArrayLike<number | bigint>, Number);
    const width = rows.length === 0 ? 0 : values.length / rows.length;
    return rows.map((_, r) => values.slice(r * width, (r + 1) * width));
  }

  /**
   * KernelSHAP for one row, whose served output is `served`: every coalition against every
   * background row, in chunks, within the deadline.
   */
  private async kernel(
    model: string,
    version: number,
    data: ExplainerData,
    row: readonly Cell[],
    served: readonly number[],
    k: number,
    background: readonly Cell[][],
    plan: ReturnType<typeof kernelShapPlan>,
    deadline: { at: number; ms: number },
  ): Promise<Shapley> {
    const link = (p: readonly number[]): number =>
      data.output.task === 'regression'
        ? p[0]!
        : data.output.task === 'binary'
          ? logit(p[1]!) * (k === 1 ? 1 : -1)
          : Math.log(Math.max(p[k]!, 1e-12));
    const B = background.length;
    // Coalition n's rows are n·B … n·B + B − 1; the background alone comes last.
    const total = (plan.coalitions.length + 1) * B;
    const sums = new Float64Array(plan.coalitions.length + 1);
    const output = link(served);
    const hybrid = (i: number): Cell[] => {
      const n = Math.floor(i / B);
      const z = background[i % B]!;
      const coalition = plan.coalitions[n];
      return coalition ? row.map((cell, j) => (coalition[j] ? cell : z[j]!)) : [...z];
    };
    for (let start = 0; start < total; start += EXPLAIN_LIMITS.chunkRows) {
      if (performance.now() > deadline.at) {
        // No retry delay: the same call would likely spend its time again; the message says what to change.
        throw new GalenError(
          'unavailable',
          `the explanation did not finish within timeout_ms ${deadline.ms}; ask for fewer max_coalitions or background_rows, or a longer timeout_ms`,
        );
      }
      const end = Math.min(total, start + EXPLAIN_LIMITS.chunkRows);
      const chunk = Array.from({ length: end - start }, (_, i) => hybrid(start + i));
      const outputs = await this.run(model, version, data, chunk);
      outputs.forEach((p, i) => (sums[Math.floor((start + i) / B)]! += link(p) / B));
    }
    const base = sums[plan.coalitions.length]!;
    const values = solveKernelShap(plan, sums, base, output, row.length);
    return { values, base, output };
  }
}

function negate(s: Shapley): Shapley {
  return { values: s.values.map((v) => -v), base: -s.base, output: -s.output };
}
