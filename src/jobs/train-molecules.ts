/**
 * Molecular property models: a table with a SMILES column and a measured property → RDKit features
 * (descriptors, atom and group counts, MACCS keys, Morgan bits) → gradient-boosted trees → one ONNX
 * graph over the feature row that declares the `molecule_features` preprocessing step, so the
 * served version takes SMILES strings and Galen featurises them before the graph, exactly as in
 * training. Held out by a random split or a Bemis–Murcko scaffold split (whole scaffolds held out:
 * closer to predicting new chemical series); evaluated by the compiled graph in Galen's runtime.
 */
import { GALEN_VERSION, GalenError, assertCan } from '../core/index.js';
import type { Actor } from '../core/index.js';
import {
  DEFAULT_MOLECULE_FEATURES,
  moleculeFeatureNames,
  parseMoleculeFeatureOptions,
} from '../molecules/index.js';
import type { MoleculeFeatureOptions, MoleculeToolkit } from '../molecules/index.js';
import { compileVectorTreeModel } from '../onnx/index.js';
import { PREPROCESSING_METADATA_KEY } from '../preprocessing/index.js';
import { evaluateRegressionReport, fitGbdt, mulberry32, toTreeEnsembleSpec } from '../training/index.js';
import { withEvaluationModel } from './evaluation-run.js';
import { lineageOf } from './training-table.js';
import { buildModelCard } from './model-card.js';
import type { TrainModelDeps, TrainModelHooks, TrainModelRequest, TrainModelResult } from './train-model.js';

export type MoleculeSplit = 'random' | 'scaffold';

export interface MoleculeTrainingOptions {
  /** The column of SMILES strings. */
  smiles: string;
  /** How rows are held out (default random). */
  split?: MoleculeSplit | undefined;
  /** Share held out (default 0.2). */
  testFraction?: number | undefined;
  /** What each molecule becomes (default {@link DEFAULT_MOLECULE_FEATURES}). */
  features?: Record<string, unknown> | undefined;
}

/** Trees tuned on ESOL random splits (seeds 1–3, none of the benchmark's): small leaves, slow learning. */
const GBDT_DEFAULTS = {
  learningRate: 0.02,
  maxIterations: 3000,
  minSamplesLeaf: 3,
  maxLeafNodes: 8,
  l2Regularization: 1,
  earlyStopping: false,
} as const;

const MAX_INVALID_SHARE = 0.05;

/** Training and held-out rows: a seeded shuffle, or whole scaffolds, largest first into training. */
export async function moleculeSplit(
  molecules: MoleculeToolkit,
  smiles: readonly string[],
  kind: MoleculeSplit,
  testFraction: number,
  seed: number,
): Promise<{ train: number[]; test: number[]; scaffolds?: number }> {
  const n = smiles.length;
  const nTest = Math.round(n * testFraction);
  if (kind === 'random') {
    const random = mulberry32(seed);
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return {
      test: order.slice(0, nTest).sort((a, b) => a - b),
      train: order.slice(nTest).sort((a, b) => a - b),
    };
  }
  const scaffolds = await molecules.scaffolds(smiles);
  const groups = new Map<string, number[]>();
  scaffolds.forEach((s, i) => {
    // A scaffold RDKit could not rebuild is a group of its own, never merged with the acyclic ones.
    const key = s ?? `unbuilt:${i}`;
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  // As MoleculeNet: the biggest scaffold sets train; the rare scaffolds are what is held out.
  const ordered = [...groups.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const train: number[] = [];
  const test: number[] = [];
  for (const [, rows] of ordered) (train.length + rows.length <= n - nTest ? train : test).push(...rows);
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b), scaffolds: groups.size };
}

/** Checks a molecule request against its table's columns: what it may not be asked, and its options. */
export function checkMoleculeRequest(
  request: TrainModelRequest,
  columns: readonly string[],
  where: string,
): void {
  const m = request.molecules;
  if (!m) throw new GalenError('invalid_input', 'a molecule model needs "molecules": {"smiles": column}');
  for (const [name, what] of [
    [m.smiles, 'SMILES'],
    [request.target, 'target'],
  ] as const) {
    if (!columns.includes(name))
      throw new GalenError(
        'invalid_input',
        `${where} has no ${what} column "${name}"; its columns are ${columns.join(', ')}`,
      );
  }
  if (request.modelKind !== 'gbdt' && request.modelKind !== 'auto')
    throw new GalenError(
      'invalid_input',
      `molecule models are gradient-boosted trees over RDKit features; modelKind "${request.modelKind}" is not one (use gbdt)`,
    );
  if (request.deid !== undefined || request.testDataset !== undefined || request.recommender !== undefined)
    throw new GalenError(
      'invalid_input',
      'molecule models take neither "deid", "testDataset" nor "recommender"; hold out by molecules.split',
    );
  if (m.split !== undefined && m.split !== 'random' && m.split !== 'scaffold')
    throw new GalenError(
      'invalid_input',
      `molecules.split is ${JSON.stringify(m.split)}; use "random" or "scaffold"`,
    );
  if (m.features !== undefined) parseMoleculeFeatureOptions(m.features, 'molecules.features');
}

export async function trainMolecules(
  deps: TrainModelDeps & { molecules: MoleculeToolkit },
  request: TrainModelRequest & { molecules: MoleculeTrainingOptions },
  actor: Actor,
  hooks: TrainModelHooks = {},
): Promise<TrainModelResult> {
  assertCan(actor, 'data:read', 'train on datasets');
  assertCan(actor, 'model:write', 'register trained models');
  const progress = hooks.onProgress ?? (() => undefined);
  const m = request.molecules;
  const split = m.split ?? 'random';
  const testFraction = m.testFraction ?? 0.2;
  if (!(testFraction > 0 && testFraction < 0.5))
    throw new GalenError(
      'invalid_input',
      `testFraction is ${testFraction}; hold out more than 0 and under half`,
    );
  const features: MoleculeFeatureOptions =
    m.features === undefined
      ? DEFAULT_MOLECULE_FEATURES
      : parseMoleculeFeatureOptions(m.features, 'molecules.features');
  const seed = request.options?.seed ?? 42;

  progress(0, 'loading data');
  const dataset = await deps.datasets.get(request.dataset, request.datasetVersion, actor);
  const table = await deps.datasets.load(dataset);
  checkMoleculeRequest(request, table.columns, `dataset ${dataset.name}:${dataset.version}`);
  const column = (name: string, what: string): number => {
    const j = table.columns.indexOf(name);
    if (j < 0)
      throw new GalenError(
        'invalid_input',
        `dataset ${dataset.name}:${dataset.version} has no ${what} column "${name}"; its columns are ${table.columns.join(', ')}`,
      );
    return j;
  };
  const smilesAt = column(m.smiles, 'SMILES');
  const targetAt = column(request.target, 'target');
  const rows = table.rows.flatMap((r, i) => {
    const y = Number(r[targetAt]);
    return r[targetAt] === null || r[targetAt] === '' || !Number.isFinite(y)
      ? []
      : [{ i, smiles: (r[smilesAt] ?? '').trim(), y }];
  });
  const unlabelled = table.rows.length - rows.length;
  if (rows.length < 50)
    throw new GalenError(
      'invalid_input',
      `"${request.target}" has ${rows.length} numeric values; a molecule model needs at least 50 measured molecules`,
    );

  progress(0.05, `featurising ${rows.length} molecules with RDKit`);
  const featurized = await deps.molecules.featurize(
    rows.map((r) => r.smiles),
    features,
  );
  if (featurized.invalid.length > MAX_INVALID_SHARE * rows.length) {
    throw new GalenError(
      'invalid_input',
      // The first one by its row, not its text: a column that is not SMILES may hold patient data.
      `${featurized.invalid.length} of ${rows.length} SMILES in "${m.smiles}" do not parse (the first is row ${rows[featurized.invalid[0]!]!.i + 1}); is it the SMILES column?`,
    );
  }
  if (featurized.invalid.length > 0)
    hooks.onLog?.('warn', `${featurized.invalid.length} molecule(s) whose SMILES do not parse were left out`);
  const invalid = new Set(featurized.invalid);
  const keep = rows.map((_, k) => k).filter((k) => !invalid.has(k));
  const width = featurized.width;
  const rowOf = (k: number): Float64Array =>
    Float64Array.from(featurized.values.subarray(k * width, (k + 1) * width));

  const { train, test, scaffolds } = await moleculeSplit(
    deps.molecules,
    keep.map((k) => rows[k]!.smiles),
    split,
    testFraction,
    seed,
  );
  const trainRows = train.map((t) => keep[t]!);
  const testRows = test.map((t) => keep[t]!);
  progress(0.1, `fitting gradient-boosted trees on ${trainRows.length} molecules (${split} split)`);
  const options = { ...GBDT_DEFAULTS, ...request.options?.gbdt };
  const model = fitGbdt(trainRows.map(rowOf), Float64Array.from(trainRows.map((k) => rows[k]!.y)), {
    ...options,
    task: 'regression',
    seed,
    onProgress: (iteration) =>
      progress(0.1 + (0.7 * iteration) / options.maxIterations, 'fitting gradient-boosted trees'),
  });

  progress(0.8, 'compiling the trees into one ONNX graph that takes SMILES');
  const onnx = compileVectorTreeModel(
    toTreeEnsembleSpec(model),
    { name: 'features', width },
    {
      docString: `Galen ${GALEN_VERSION}: gradient-boosted trees on ${width} RDKit features of ${dataset.name}:${dataset.version} predicting ${request.target}`,
      metadata: {
        [PREPROCESSING_METADATA_KEY]: JSON.stringify([
          { name: 'smiles', into: 'features', step: 'molecule_features', options: features },
        ]),
      },
    },
  );

  progress(0.85, `evaluating the compiled graph on ${testRows.length} held-out molecules`);
  const testValues = new Float32Array(testRows.length * width);
  testRows.forEach((k, r) =>
    testValues.set(featurized.values.subarray(k * width, (k + 1) * width), r * width),
  );
  const served = await withEvaluationModel(deps, onnx, async (run) => {
    const [out] = await run(
      [{ name: 'features', datatype: 'FP32', shape: [testRows.length, width], data: testValues }],
      ['prediction'],
    );
    return out!.data as Float32Array;
  });
  const truth = testRows.map((k) => rows[k]!.y);
  const report = evaluateRegressionReport(served, truth, { seed });
  const trainMean = trainRows.reduce((s, k) => s + rows[k]!.y, 0) / trainRows.length;
  const meanRmse = Math.sqrt(truth.reduce((s, y) => s + (y - trainMean) ** 2, 0) / truth.length);
  const splitText =
    split === 'scaffold'
      ? `a Bemis–Murcko scaffold split (${scaffolds} scaffolds; whole scaffolds held out, the rarest first)`
      : `a random split (seed ${seed})`;
  const evaluatedOn = `${testRows.length} held-out molecules from ${splitText}, featurised by RDKit and scored by the compiled ONNX in Galen's runtime`;
  const metrics = {
    test: { n: testRows.length, rmse: report.rmse.value, mae: report.mae.value, r2: report.r2.value },
    baseline: { trainingMeanRmse: meanRmse },
    report,
    evaluatedOn,
  };

  progress(0.95, 'writing the model card, registering the version');
  const algorithm = 'histogram gradient-boosted trees on RDKit molecule features';
  const framework = `galen ${GALEN_VERSION}`;
  const card = buildModelCard({
    algorithm,
    framework,
    trainedAt: new Date().toISOString(),
    seed,
    target: request.target,
    task: 'regression',
    job: hooks.job,
    intendedUse: request.intendedUse,
    limitations: [
      ...(request.limitations ?? []),
      `Molecules unlike the training set (new scaffolds, elements or sizes) can be predicted poorly; a ${split === 'random' ? 'random split, as here, flatters that' : 'scaffold split, as here, measures it'}.`,
    ],
    dataset: { ref: `${dataset.name}:${dataset.version}`, sha256: dataset.sha256, rows: dataset.rows },
    modelInputs: [
      {
        name: 'smiles',
        description: `SMILES strings (BYTES [-1]); Galen computes ${width} RDKit features from each (${moleculeFeatureNames(features).slice(0, 3).join(', ')}, …) before the graph`,
      },
    ],
    trainRows: trainRows.length,
    testRows: testRows.length,
    droppedRows: unlabelled + featurized.invalid.length,
    evaluatedOn,
    report,
  });
  const version = await deps.registry.registerVersion(
    {
      model: request.model,
      file: onnx,
      description:
        request.description ??
        `${request.target} from SMILES (${dataset.name}:${dataset.version}, ${split} split)`,
      framework: `${framework} (${algorithm})`,
      source: 'galen training',
      datasetSha256: dataset.sha256,
      parameters: {
        ...lineageOf(dataset, undefined, request, hooks.job),
        model: 'gbdt',
        molecules: { smiles: m.smiles, split, testFraction, features: { ...features } },
        gbdt: { ...options },
        seed,
        trainRows: trainRows.length,
        testRows: testRows.length,
        droppedRows: unlabelled + featurized.invalid.length,
        invalidSmiles: featurized.invalid.length,
      },
      metrics,
      card: card as unknown as Record<string, unknown>,
    },
    actor,
  );
  return { version, metrics };
}
