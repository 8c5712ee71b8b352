/**
 * `npm run bench:train`: Galen's tabular trainers against scikit-learn on identical splits. Splits
 * each dataset once (stratified, seeded), trains and scores Galen's logistic regression and GBDT,
 * runs bench/train/sklearn_baseline.py on the same rows, prints the comparison and replaces the
 * training section of docs/benchmarks.md (nothing else in it).
 *
 * Environment: `GALEN_BENCH_PYTHON` (default /usr/bin/python3, where Debian's python3-sklearn
 * lives), `GALEN_CLINICAL_DATA` (default data/clinical in the repository).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as prettier from 'prettier';
import { auroc, predictPipeline, trainTabular } from '../../src/training/index.js';
import type { TabularTrainingResult } from '../../src/training/index.js';
import { describeMachine } from '../machine.js';
import { repoPath } from '../paths.js';
import { clinicalDataDir, loadDataset, planEntry, TRAINING_DATASETS } from './datasets.js';
import type { LoadedDataset } from './datasets.js';
import { withTrainingSection } from './doc-section.js';
import { describeTraining, renderTrainingSection } from './training-report.js';
import type { ComparedModel, ModelComparison, TrainingBenchResults } from './training-report.js';

const SEED = 42;
const TEST_FRACTION = 0.2;
/** Timed fits per model, after one untimed warm-up fit on each side (JIT, thread pools, caches). */
const REPEATS = 5;
/** Galen's default L2 penalty; scikit-learn's C is its inverse (both objectives sum the losses). */
const L2 = 1;
const MODELS: readonly ComparedModel[] = ['logistic', 'gbdt'];
const INSTALL_HINT =
  'install scikit-learn with `apt-get install -y python3-sklearn` (Debian; it installs for /usr/bin/python3), ' +
  'or point GALEN_BENCH_PYTHON at a Python that has scikit-learn';

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Trains one model kind `REPEATS` times on the fixed split; the median time and the (deterministic) AUROC. */
function runGalen(
  loaded: LoadedDataset,
  model: ComparedModel,
): { auroc: number; fitS: number; coldS: number; testRows: number } {
  const times: number[] = [];
  let result: TabularTrainingResult | undefined;
  for (let i = 0; i <= REPEATS; i++) {
    const start = performance.now();
    result = trainTabular(loaded.table, loaded.schema, {
      model,
      positive: loaded.dataset.positive,
      seed: SEED,
      testRows: loaded.testRows,
      l2: L2,
    });
    times.push((performance.now() - start) / 1000);
  }
  const [coldS, ...warm] = times;
  const { spec, testColumns, testTargets } = result!;
  const probabilities = predictPipeline(spec, testColumns).probabilities;
  if (!probabilities) throw new Error(`${loaded.dataset.name}/${model}: the pipeline gave no probabilities`);
  return {
    auroc: auroc(
      probabilities.map((p) => p[1]!),
      testTargets,
    ),
    fitS: median(warm),
    coldS: coldS!,
    testRows: testTargets.length,
  };
}

interface SklearnFit {
  auroc: number;
  fitS: number;
  fitS1Thread?: number;
}
interface SklearnOutput {
  python: string;
  sklearn: string;
  numpy: string;
  datasets: { name: string; trainRows: number; testRows: number; logistic: SklearnFit; gbdt: SklearnFit }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkFit(v: unknown, where: string): SklearnFit {
  if (!isObject(v) || !isNumber(v.auroc) || !isNumber(v.fitS)) {
    throw new Error(`sklearn_baseline.py: ${where} lacks numeric "auroc" and "fitS": ${JSON.stringify(v)}`);
  }
  return { auroc: v.auroc, fitS: v.fitS, ...(isNumber(v.fitS1Thread) && { fitS1Thread: v.fitS1Thread }) };
}

/** The script's JSON, checked field by field (it crosses a process boundary). */
function parseSklearnOutput(text: string): SklearnOutput {
  const v: unknown = JSON.parse(text);
  if (!isObject(v) || !Array.isArray(v.datasets)) {
    throw new Error(`sklearn_baseline.py printed no "datasets": ${text.slice(0, 300)}`);
  }
  const datasets = v.datasets.map((d: unknown, i) => {
    if (!isObject(d) || typeof d.name !== 'string' || !isNumber(d.trainRows) || !isNumber(d.testRows)) {
      throw new Error(`sklearn_baseline.py: dataset ${i} is malformed: ${JSON.stringify(d)}`);
    }
    return {
      name: d.name,
      trainRows: d.trainRows,
      testRows: d.testRows,
      logistic: checkFit(d.logistic, `${d.name}.logistic`),
      gbdt: checkFit(d.gbdt, `${d.name}.gbdt`),
    };
  });
  const version = (x: unknown): string => (typeof x === 'string' ? x : 'unknown');
  return { python: version(v.python), sklearn: version(v.sklearn), numpy: version(v.numpy), datasets };
}

/** Runs the Python baseline on `planFile`; exits with install instructions when scikit-learn is missing. */
function runSklearn(python: string, planFile: string): SklearnOutput {
  const script = repoPath('bench', 'train', 'sklearn_baseline.py');
  const run = spawnSync(python, [script, planFile], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) {
    const code = (run.error as NodeJS.ErrnoException).code;
    console.error(
      code === 'ENOENT'
        ? `no Python at ${python}: ${INSTALL_HINT}`
        : `could not run ${python}: ${run.error.message}`,
    );
    process.exit(1);
  }
  if (run.status === 3) {
    console.error(`scikit-learn is not importable from ${python} (${run.stdout.trim()}): ${INSTALL_HINT}`);
    process.exit(1);
  }
  if (run.status !== 0) {
    console.error(`sklearn_baseline.py failed (exit ${run.status}):\n${run.stderr}`);
    process.exit(1);
  }
  return parseSklearnOutput(run.stdout);
}

async function writeSection(results: TrainingBenchResults): Promise<void> {
  const file = repoPath('docs', 'benchmarks.md');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const config = (await prettier.resolveConfig(file)) ?? {};
  const next = withTrainingSection(text, renderTrainingSection(results));
  writeFileSync(file, await prettier.format(next, { ...config, filepath: file }));
  console.log(`wrote the training section of ${file}`);
}

async function main(): Promise<void> {
  const python = process.env.GALEN_BENCH_PYTHON ?? '/usr/bin/python3';
  const machine = describeMachine();
  const dataDir = clinicalDataDir(process.env);
  const tempDir = mkdtempSync(join(tmpdir(), 'galen-bench-train-'));
  try {
    const loaded = TRAINING_DATASETS.map((d) => loadDataset(d, dataDir, tempDir, TEST_FRACTION, SEED));
    // scikit-learn first: a missing install is reported before minutes of Galen training.
    const planFile = join(tempDir, 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({ datasets: loaded.map((l) => planEntry(l, SEED, REPEATS, 1 / L2)) }),
    );
    console.log(`scikit-learn baselines (${python}) …`);
    const sklearn = runSklearn(python, planFile);
    const comparisons: ModelComparison[] = [];
    for (const l of loaded) {
      const theirs = sklearn.datasets.find((d) => d.name === l.dataset.name);
      if (!theirs) throw new Error(`sklearn_baseline.py gave nothing for ${l.dataset.name}`);
      for (const model of MODELS) {
        const ours = runGalen(l, model);
        if (ours.testRows !== theirs.testRows) {
          throw new Error(
            `${l.dataset.name}: Galen held out ${ours.testRows} rows, scikit-learn ${theirs.testRows}; the splits differ`,
          );
        }
        const fit = theirs[model];
        comparisons.push({
          dataset: l.dataset.name,
          model,
          galenAuroc: ours.auroc,
          sklearnAuroc: fit.auroc,
          galenFitS: ours.fitS,
          galenColdFitS: ours.coldS,
          sklearnFitS: fit.fitS,
          ...(fit.fitS1Thread !== undefined && { sklearnFitS1Thread: fit.fitS1Thread }),
        });
        console.log(
          `${l.dataset.name}/${model}: Galen AUROC ${ours.auroc.toFixed(4)} in ${ours.fitS.toFixed(3)} s; ` +
            `scikit-learn ${fit.auroc.toFixed(4)} in ${fit.fitS.toFixed(3)} s`,
        );
      }
    }
    const results: TrainingBenchResults = {
      date: new Date().toISOString().slice(0, 10),
      machine,
      python: sklearn.python,
      sklearn: sklearn.sklearn,
      numpy: sklearn.numpy,
      seed: SEED,
      testFraction: TEST_FRACTION,
      repeats: REPEATS,
      l2: L2,
      c: 1 / L2,
      datasets: loaded.map((l) => {
        const theirs = sklearn.datasets.find((d) => d.name === l.dataset.name)!;
        return {
          name: l.dataset.name,
          file: l.dataset.file,
          targetNote: l.dataset.targetNote,
          trainRows: theirs.trainRows,
          testRows: theirs.testRows,
          numeric: l.numeric.length,
          categorical: l.categorical.length,
        };
      }),
      comparisons,
    };
    console.log(`\n${describeTraining(results)}\n`);
    await writeSection(results);
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
