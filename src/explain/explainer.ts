/**
 * A version's explainer: what its players are (one per input column, or one per element of a
 * single feature-vector input), which output is explained and in what units, a background sample
 * of training rows, the trained pipeline when Galen trained it (for the exact linear and tree
 * paths), and global importance computed on held-out rows. Stored with the version; the background
 * rows are training data and never leave the server.
 */
import { GalenError, featureNames, featureWidth } from '../core/index.js';
import type { Cell, FeatureLayout, PipelineSpec, ScoredOutput } from '../core/index.js';
import {
  accuracy,
  auroc,
  featureMatrix,
  mulberry32,
  predictPipeline,
  sampleRows,
} from '../training/index.js';
import type { PipelineColumns } from '../training/index.js';
import { linearShapley, treeShapley } from './shapley.js';
import type { Shapley } from './shapley.js';

export const EXPLAINER_SCHEMA = 'galen.explainer/1';

export type { Cell };

/** How players map onto the model's inputs: one per column, or the elements of one vector input. */
export type PlayerLayout = FeatureLayout;

/** The output explained: binary → log-odds of the positive class; multiclass → per class; regression → the value. */
export type ExplainedOutput = ScoredOutput;

export interface GlobalImportance {
  /** Mean |SHAP| per player over `rows` held-out rows (log-odds for binary models). */
  meanAbsShap: Record<string, number>;
  /** Drop of `metric` on the held-out rows when one player is shuffled, mean of `repeats`. */
  permutation: { metric: string; baseline: number; repeats: number; drop: Record<string, number> };
  rows: number;
  computedOn: string;
}

export interface ExplainerData {
  schema: typeof EXPLAINER_SCHEMA;
  layout: PlayerLayout;
  output: ExplainedOutput;
  /** Background rows, each a cell per player in layout order. */
  background: Cell[][];
  /** The trained pipeline, for the exact paths (absent for imported and network models). */
  pipeline?: PipelineSpec;
  importance?: GlobalImportance;
}

/**
 * An explainer as stored (JSON). JSON has no NaN, so a tree pipeline's `impute: NaN` (keep
 * missing values missing, for the trees to route) comes back as null and is restored here.
 */
export function readExplainer(stored: Record<string, unknown>): ExplainerData {
  const data = stored as unknown as ExplainerData;
  if (!data.pipeline) return data;
  return {
    ...data,
    pipeline: {
      ...data.pipeline,
      features: data.pipeline.features.map((f) =>
        f.kind === 'numeric' && (f.impute as number | null) === null ? { ...f, impute: Number.NaN } : f,
      ),
    },
  };
}

/** What the API shows of an explainer: everything but the background rows. */
export type ExplainerView = Omit<ExplainerData, 'background' | 'pipeline'> & {
  players: string[];
  backgroundRows: number;
  exactPath: 'linear' | 'trees' | null;
};

export const playerNames = featureNames;

export function explainerView(data: ExplainerData): ExplainerView {
  const { background, pipeline, ...rest } = data;
  return {
    ...rest,
    players: playerNames(data.layout),
    backgroundRows: background.length,
    exactPath: pipeline ? (pipeline.model.type === 'linear' ? 'linear' : 'trees') : null,
  };
}

/** Rows of cells in player order from columns by name. */
export function rowsOf(columns: PipelineColumns, players: readonly string[]): Cell[][] {
  const n = columns[players[0]!]?.length ?? 0;
  return Array.from({ length: n }, (_, r) => players.map((p) => columns[p]?.[r] ?? null));
}

/** Columns by name from rows of cells in player order. */
export function columnsOf(rows: readonly Cell[][], players: readonly string[]): PipelineColumns {
  return Object.fromEntries(players.map((p, j) => [p, rows.map((row) => row[j] ?? null)]));
}

/**
 * Exact Shapley values of `rows` for a Galen pipeline: linear models exactly in their margin
 * (log-odds, class score, or value), tree ensembles by interventional TreeSHAP. `k` picks the
 * class row (multiclass) or is 0.
 */
export function exactShapley(
  pipeline: PipelineSpec,
  players: readonly string[],
  rows: readonly Cell[][],
  background: readonly Cell[][],
  k: number,
): Shapley[] {
  const columnIndex = new Map(players.map((p, i) => [p, i]));
  const columnOf: number[] = [];
  for (const f of pipeline.features) {
    const width = featureWidth([f]);
    const player = columnIndex.get(f.column);
    if (player === undefined) throw new GalenError('internal', `explainer has no player "${f.column}"`);
    for (let w = 0; w < width; w++) columnOf.push(player);
  }
  const x = featureMatrix(pipeline.features, columnsOf(rows, players));
  const z = featureMatrix(pipeline.features, columnsOf(background, players));
  const model = pipeline.model;
  return x.map((row) =>
    model.type === 'linear'
      ? linearShapley(model.coefficients[k] ?? [], model.intercepts[k] ?? 0, columnOf, players.length, row, z)
      : treeShapley(model.trees, model.base[k] ?? 0, k, columnOf, players.length, row, z),
  );
}

/**
 * Global importance of a Galen pipeline on held-out rows: mean |SHAP| by the exact path, and
 * permutation importance (AUROC for two classes, accuracy for more, RMSE for values; the drop when
 * one column is shuffled, mean of `repeats` seeded shuffles).
 */
export function pipelineImportance(
  pipeline: PipelineSpec,
  players: readonly string[],
  output: ExplainedOutput,
  background: readonly Cell[][],
  test: { columns: PipelineColumns; targets: Float64Array },
  seed: number,
  limits = { rows: 200, repeats: 5, treeVisits: 1_500_000 },
): GlobalImportance {
  const all = rowsOf(test.columns, players);
  // Tree SHAP costs rows × background rows × trees × classes explained: bounded by `treeVisits`.
  const classCount = output.task === 'multiclass' ? (output.classes?.length ?? 1) : 1;
  const trees = pipeline.model.type === 'trees' ? pipeline.model.trees.length * classCount : 0;
  const affordable = trees > 0 ? Math.floor(limits.treeVisits / (trees * background.length)) : limits.rows;
  const picked = sampleRows(
    all.map((_, i) => i),
    Math.max(20, Math.min(limits.rows, affordable)),
    seed,
  );
  const rows = picked.map((i) => all[i]!);
  const meanAbsShap: Record<string, number> = Object.fromEntries(players.map((p) => [p, 0]));
  // Multiclass: the mean over classes of each class score's |SHAP|.
  const classes = output.task === 'multiclass' ? output.classes!.map((_, c) => c) : [0];
  for (const c of classes) {
    for (const shap of exactShapley(pipeline, players, rows, background, c)) {
      players.forEach(
        (p, j) => (meanAbsShap[p]! += Math.abs(shap.values[j]!) / (rows.length * classes.length)),
      );
    }
  }

  const targets = Float64Array.from(picked, (i) => test.targets[i]!);
  const metric = output.task === 'binary' ? 'auroc' : output.task === 'multiclass' ? 'accuracy' : 'rmse';
  const score = (rs: readonly Cell[][]): number => {
    const prediction = predictPipeline(pipeline, columnsOf(rs, players));
    if (output.task === 'regression') {
      const p = prediction.predictions!;
      let sse = 0;
      p.forEach((v, i) => (sse += (v - targets[i]!) ** 2));
      return -Math.sqrt(sse / p.length); // higher is better, like the others
    }
    const probabilities = prediction.probabilities!;
    if (output.task === 'binary') {
      return auroc(
        probabilities.map((p) => p[1]!),
        Array.from(targets, (t) => (t === 1 ? 1 : 0)),
      );
    }
    return accuracy(
      probabilities.map((p) => p.indexOf(Math.max(...p))),
      targets,
    );
  };
  const baseline = score(rows);
  const random = mulberry32(seed ^ 0x9e3779b9);
  const drop: Record<string, number> = {};
  players.forEach((p, j) => {
    let total = 0;
    for (let r = 0; r < limits.repeats; r++) {
      const order = rows.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const s = Math.floor(random() * (i + 1));
        [order[i], order[s]] = [order[s]!, order[i]!];
      }
      const shuffled = rows.map((row, i) => row.map((cell, c) => (c === j ? rows[order[i]!]![c]! : cell)));
      total += baseline - score(shuffled);
    }
    drop[p] = total / limits.repeats;
  });
  return {
    meanAbsShap,
    permutation: {
      metric: metric === 'rmse' ? 'rmse (increase)' : metric,
      baseline: metric === 'rmse' ? -baseline : baseline,
      repeats: limits.repeats,
      drop,
    },
    rows: rows.length,
    computedOn: `${rows.length} held-out rows (seed ${seed})`,
  };
}

/** What the explainer of a Galen tabular model (pipeline or network) explains, over one player per column. */
function tabularBasics(
  features: PipelineSpec['features'],
  task: ExplainedOutput['task'],
  classes: string[] | undefined,
  backgroundColumns: PipelineColumns,
): Pick<ExplainerData, 'schema' | 'layout' | 'output' | 'background'> {
  const layout: PlayerLayout = {
    kind: 'columns',
    inputs: features.map((f) => ({
      name: f.column,
      datatype: f.kind === 'numeric' ? ('FP32' as const) : ('BYTES' as const),
    })),
  };
  const output: ExplainedOutput =
    task === 'regression'
      ? { tensor: 'prediction', task }
      : { tensor: 'probabilities', task, ...(classes && { classes }) };
  return {
    schema: EXPLAINER_SCHEMA,
    layout,
    output,
    background: rowsOf(backgroundColumns, playerNames(layout)),
  };
}

/** An explainer for a pipeline Galen trained: background from the training rows, importance from held-out rows. */
export function pipelineExplainer(
  pipeline: PipelineSpec,
  task: ExplainedOutput['task'],
  classes: string[] | undefined,
  backgroundColumns: PipelineColumns,
  test: { columns: PipelineColumns; targets: Float64Array },
  seed: number,
): ExplainerData {
  const basics = tabularBasics(pipeline.features, task, classes, backgroundColumns);
  const players = playerNames(basics.layout);
  return {
    ...basics,
    pipeline,
    importance: pipelineImportance(pipeline, players, basics.output, basics.background, test, seed),
  };
}

/** An explainer for a network over Galen's preprocessing (the MLP): KernelSHAP against the background. */
export function networkExplainer(
  features: PipelineSpec['features'],
  task: ExplainedOutput['task'],
  classes: string[] | undefined,
  backgroundColumns: PipelineColumns,
): ExplainerData {
  return tabularBasics(features, task, classes, backgroundColumns);
}
