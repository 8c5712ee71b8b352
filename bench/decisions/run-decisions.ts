/**
 * `npm run bench:decisions`: the figures of the decision services on the real data.
 * - Molecules: ESOL by Galen's molecule trainer (RDKit features, gradient-boosted trees), held-out
 *   RMSE over five random splits (seeds 1–5) and one scaffold split, beside MoleculeNet's MPNN.
 * - Recommendations: the hybrid recommender on the MIMIC-III demo against popularity and item-kNN,
 *   on held-out prescriptions and on held-out admissions (5-fold, by patient).
 * - Optimisation: solve times and statuses of the three templates at ward scale, and a hard
 *   integer model stopped by its time limit.
 * Prints the results and replaces the decision-services section of docs/benchmarks.md.
 */
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { createGalen } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { Actor } from '../../src/core/index.js';
import { trainModel } from '../../src/jobs/index.js';
import { createLogger } from '../../src/observability/index.js';
import { COUNT_PATTERNS } from '../../src/molecules/index.js';
import type { OptimizeAnswer } from '../../src/optimize/index.js';
import {
  buildRecommenderDataset,
  evaluateRanking,
  fitItemKnn,
  itemKnnScores,
  mimicRecommenderRows,
  parseMimicTables,
  poolEvaluations,
  popularityScores,
  scoreDatasetUser,
  splitColdStartUsers,
  splitInteractions,
  trainHybridRecommender,
} from '../../src/recommend/index.js';
import type { RankingEvaluation, RecommenderSplit } from '../../src/recommend/index.js';
import { describeMachine } from '../machine.js';
import { repoPath } from '../paths.js';
import { withSection } from '../train/doc-section.js';
import { DECISIONS_HEADING } from './decisions-heading.js';

const ACTOR: Actor = { keyId: 'bench', role: 'admin' };
const DATA = repoPath('data');
const log = (message: string): void => void process.stderr.write(`${message}\n`);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]): number =>
  Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)) * (xs.length / (xs.length - 1)));
const f3 = (x: number): string => x.toFixed(3);

async function molecules(galen: Awaited<ReturnType<typeof createGalen>>): Promise<string[]> {
  const file = join(DATA, 'molecules', 'esol_delaney.csv');
  const { dataset } = await galen.datasets.upload({ name: 'esol', file: await readFile(file) }, ACTOR);
  const run = async (split: 'random' | 'scaffold', seed: number) => {
    const started = performance.now();
    const { metrics } = await trainModel(
      galen,
      {
        model: `esol-${split}-${seed}`,
        dataset: dataset.name,
        target: 'measured log solubility in mols per litre',
        modelKind: 'gbdt',
        molecules: { smiles: 'smiles', split },
        options: { seed },
      },
      ACTOR,
    );
    const test = metrics['test'] as { rmse: number; mae: number; r2: number; n: number };
    const baseline = (metrics['baseline'] as { trainingMeanRmse: number }).trainingMeanRmse;
    log(`ESOL ${split} seed ${seed}: RMSE ${f3(test.rmse)}`);
    return { ...test, baseline, seconds: (performance.now() - started) / 1000 };
  };
  const random = [];
  for (const seed of [1, 2, 3, 4, 5]) random.push(await run('random', seed));
  const scaffold = await run('scaffold', 42);
  const rmse = random.map((r) => r.rmse);
  return [
    '### Molecular property prediction: ESOL',
    '',
    `1,128 measured aqueous solubilities (log mol/L). Galen's molecule trainer: RDKit (WebAssembly) computes 43 descriptors, the aromatic proportion and ${Object.keys(COUNT_PATTERNS).length} atom and group counts, 167 MACCS keys and 1,024 Morgan (ECFP4) bits per molecule; histogram gradient-boosted trees (3,000 rounds of 8 leaves, learning rate 0.02; the features and settings were chosen on three other random splits of the same molecules, so these five figures are not wholly free of that choice) learn from them. Each split holds out 226 molecules (20%); what is scored is the compiled ONNX graph run by Galen's runtime on features RDKit computed from the SMILES.`,
    '',
    '| split | seed | held-out RMSE | MAE | R² | training-mean RMSE | time |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...random.map(
      (r, i) =>
        `| random | ${i + 1} | ${f3(r.rmse)} | ${f3(r.mae)} | ${f3(r.r2)} | ${f3(r.baseline)} | ${r.seconds.toFixed(1)} s |`,
    ),
    `| **random, mean ± sd of 5** | | **${f3(mean(rmse))} ± ${f3(sd(rmse))}** | ${f3(mean(random.map((r) => r.mae)))} | ${f3(mean(random.map((r) => r.r2)))} | | |`,
    `| scaffold (Bemis–Murcko) | 42 | ${f3(scaffold.rmse)} | ${f3(scaffold.mae)} | ${f3(scaffold.r2)} | ${f3(scaffold.baseline)} | ${scaffold.seconds.toFixed(1)} s |`,
    '',
    `Target: RMSE ≤ 0.58 on a random split (MoleculeNet's MPNN, the best model of that benchmark, mean of 3 random splits; its random forest and XGBoost on ECFP scored 1.07 and 0.99, its graph convolution 0.97). Over five random splits the mean is ${f3(mean(rmse))}: the target is ${mean(rmse) <= 0.58 ? '**met**' : '**missed**'} on average (met on ${rmse.filter((x) => x <= 0.58).length} of the 5 splits; one split of 226 molecules moves RMSE by about ±0.05). The scaffold split, harder by design, is ${f3(scaffold.rmse)}.`,
  ];
}

async function recommendationSection(): Promise<string[]> {
  const file = (name: string) => readFile(join(DATA, 'ehr', `mimic3_demo_${name}.csv`));
  const rows = mimicRecommenderRows(
    parseMimicTables({
      prescriptions: await file('PRESCRIPTIONS'),
      diagnoses: await file('DIAGNOSES_ICD'),
      admissions: await file('ADMISSIONS'),
      patients: await file('PATIENTS'),
    }),
  );
  const data = buildRecommenderDataset(rows);
  const methods = (split: RecommenderSplit): Record<string, RankingEvaluation> => {
    const warp = trainHybridRecommender(split.train, { loss: 'warp', seed: 42 });
    const bpr = trainHybridRecommender(split.train, { loss: 'bpr', learningRate: 1, seed: 42 });
    const popularity = popularityScores(split.train);
    const knn = fitItemKnn(split.train);
    const evaluate = (scores: (u: number) => ArrayLike<number>) =>
      evaluateRanking(scores, split.train.positives, split.test);
    return {
      'hybrid, WARP': evaluate((u) => scoreDatasetUser(warp, split.train, u)),
      'hybrid, BPR': evaluate((u) => scoreDatasetUser(bpr, split.train, u)),
      popularity: evaluate(() => popularity),
      'item-kNN': evaluate((u) => itemKnnScores(knn, split.train.positives[u]!.items).scores),
    };
  };
  const table = (results: Record<string, RankingEvaluation>): string[] => [
    '| method | P@5 | R@5 | NDCG@5 | P@10 | R@10 | NDCG@10 | AUC |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...Object.entries(results).map(([name, e]) => {
      const [a5, a10] = e.atK;
      return `| ${name} | ${f3(a5!.precision)} | ${f3(a5!.recall)} | ${f3(a5!.ndcg)} | ${f3(a10!.precision)} | ${f3(a10!.recall)} | ${f3(a10!.ndcg)} | ${f3(e.auc)} |`;
    }),
  ];
  const interactions = methods(splitInteractions(data, { seed: 42 }));
  const folds = [0, 1, 2, 3, 4].map((fold) =>
    methods(splitColdStartUsers(data, { seed: 42, folds: 5, fold, groups: rows.patientOfAdmission })),
  );
  const cold = Object.fromEntries(
    Object.keys(folds[0]!).map((name) => [name, poolEvaluations(folds.map((f) => f[name]!))]),
  );
  const users = interactions['popularity']!;
  log('recommendations done');
  return [
    '### Treatment recommendation: MIMIC-III demo',
    '',
    `${data.userIds.length} admissions, ${data.itemIds.length} drugs, ${data.counts.positives.toLocaleString('en-US')} admission–drug pairs (prescriptions, drug names lower-cased). An admission is described by its diagnoses (ICD-9 codes and their 3-character categories), admission type, sex and age band; a drug by its route, type and itself. Hybrid: 32 components, 30 epochs, Adagrad (learning rate 0.1 for WARP, 1 for BPR), chosen on split seeds 1–5; the figures below use seed 42. Ranked among every drug the admission was not given in training.`,
    '',
    `**Held-out prescriptions** (20% of each admission's drugs, ${users.heldOutPositives} pairs over ${users.users} admissions):`,
    '',
    ...table(interactions),
    '',
    `**Held-out admissions** (cold start: 5-fold by patient, every admission held out once and known only by its features; item-kNN has no history for them and falls back to popularity):`,
    '',
    ...table(cold),
    '',
    `On held-out prescriptions the WARP hybrid beats popularity (P@5 ${f3(interactions['hybrid, WARP']!.atK[0]!.precision)} against ${f3(interactions['popularity']!.atK[0]!.precision)}, AUC ${f3(interactions['hybrid, WARP']!.auc)} against ${f3(interactions['popularity']!.auc)}); item-kNN, which sees the admission's own other drugs, is best at the top of the list. For new admissions the gain over popularity is small: with about a hundred training admissions the diagnoses add little beyond what most admissions get. MIMIC codes diagnoses at discharge, so using them to recommend during the stay is optimistic. The training job evaluates the compiled graph on the same split (\`metrics.test\` beside \`metrics.baselines\`).`,
  ];
}

async function optimisation(galen: Awaited<ReturnType<typeof createGalen>>): Promise<string[]> {
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const shifts = [
    { name: 'early', start: 7, hours: 8 },
    { name: 'late', start: 15, hours: 8 },
    { name: 'night', start: 23, hours: 8 },
  ];
  const cases: { what: string; template?: string; input: unknown; timeLimitSeconds?: number }[] = [
    {
      what: 'roster: 40 nurses (12 ICU-skilled), 28 days, 3 shifts, coverage 6/5/4 with 2/2/2 ICU, 11 h rest, ≤ 5 days in a row, ≤ 20 shifts',
      template: 'roster',
      input: {
        days: 28,
        shifts,
        nurses: Array.from({ length: 40 }, (_, i) => ({
          name: `n${i}`,
          skills: i < 12 ? ['icu'] : [],
          maxShifts: 20,
          cost: 1 + (i % 3) * 0.1,
          unavailable: [{ day: i % 28 }, { day: (i * 7) % 28 }],
        })),
        coverage: [
          { shift: 'early', min: 6 },
          { shift: 'late', min: 5 },
          { shift: 'night', min: 4 },
          ...shifts.map((s) => ({ shift: s.name, skill: 'icu', min: 2 })),
        ],
        maxConsecutiveDays: 5,
      },
    },
    {
      what: 'beds: 300 admissions over 14 days into 6 wards (160 beds, some occupied), stays 1–10 days',
      template: 'beds',
      input: {
        days: 14,
        wards: ['medicine', 'surgery', 'cardiology', 'respiratory', 'elderly', 'short-stay'].map(
          (name, k) => ({
            name,
            beds: [40, 30, 25, 25, 25, 15][k],
            occupied: Array.from({ length: 7 }, (_, d) => Math.max(0, [30, 20, 18, 15, 20, 5][k]! - 3 * d)),
            groups: [name],
          }),
        ),
        admissions: Array.from({ length: 300 }, (_, i) => ({
          id: `a${i}`,
          day: Math.floor(random() * 14),
          group: ['medicine', 'surgery', 'cardiology', 'respiratory', 'elderly', 'short-stay'][
            Math.floor(random() * 6)
          ],
          lengthOfStay: 1 + random() * 9,
        })),
      },
    },
    {
      what: 'theatre: 60 cases, 5 theatres × 5 days of 480 min, 8 surgeons ≤ 420 min a day, 30 min turnover',
      template: 'theatre',
      input: {
        sessions: Array.from({ length: 25 }, (_, k) => ({
          id: `or${k % 5}-d${Math.floor(k / 5)}`,
          theatre: `OR${k % 5}`,
          day: Math.floor(k / 5),
          minutes: 480,
        })),
        cases: Array.from({ length: 60 }, (_, i) => ({
          id: `c${i}`,
          surgeon: `s${i % 8}`,
          minutes: 45 + Math.round(random() * 200),
          priority: 1 + Math.floor(random() * 5),
        })),
        surgeons: Array.from({ length: 8 }, (_, i) => ({ name: `s${i}`, maxMinutesPerDay: 420 })),
      },
    },
    {
      what: 'model: 500-item, 40-constraint binary multi-knapsack (no proof of optimality in the time)',
      input: (() => {
        let s = 7;
        const r = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
        const items = Array.from({ length: 500 }, (_, j) => ({ name: `x${j}`, base: 20 + r() * 80 }));
        return {
          sense: 'maximize',
          variables: items.map(({ name }) => ({ name, type: 'binary' })),
          constraints: Array.from({ length: 40 }, (_, k) => ({
            name: `capacity${k}`,
            terms: Object.fromEntries(items.map((it) => [it.name, Math.round(it.base + r() * 20)])),
            max: 6000,
          })),
          objective: { linear: Object.fromEntries(items.map((it) => [it.name, Math.round(it.base + 10)])) },
        };
      })(),
      timeLimitSeconds: 2,
    },
  ];
  const rows: string[] = [];
  for (const c of cases) {
    const answer: OptimizeAnswer = await galen.optimize.run(
      { template: c.template, input: c.input, timeLimitSeconds: c.timeLimitSeconds ?? 30 },
      ACTOR,
    );
    log(`${c.what}: ${answer.status} in ${answer.solveSeconds} s`);
    rows.push(
      `| ${c.what} | ${answer.size.variables.toLocaleString('en-US')} / ${answer.size.constraints.toLocaleString('en-US')} | ${answer.status} | ${answer.gap === undefined ? '–' : answer.gap.toExponential(1)} | ${answer.solveSeconds} s | ${answer.timeLimitSeconds} s |`,
    );
  }
  return [
    '### Optimisation',
    '',
    'HiGHS 1.15 (WebAssembly) on one solver thread, through the optimisation service (templates built, solved, answered in their own terms).',
    '',
    '| problem | variables / constraints | status | gap | solve time | limit |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'galen-bench-decisions-'));
  const galen = await createGalen(
    loadConfig({ env: {}, overrides: { dataDir: dir, logLevel: 'silent' } }),
    createLogger('silent'),
  );
  let sections: string[][];
  try {
    sections = [await molecules(galen), await recommendationSection(), await optimisation(galen)];
  } finally {
    await galen.close();
    await rm(dir, { recursive: true, force: true });
  }
  const machine = describeMachine();
  const section = [
    DECISIONS_HEADING,
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${machine.cpuModel} (${machine.cores} cores), Node ${machine.node}.`,
    '',
    ...sections.flatMap((s) => [...s, '']),
  ].join('\n');
  log(section);
  const file = repoPath('docs', 'benchmarks.md');
  const text = await readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  const config = (await prettier.resolveConfig(file)) ?? {};
  await writeFile(
    file,
    await prettier.format(withSection(text, section, DECISIONS_HEADING), { ...config, filepath: file }),
  );
  log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
