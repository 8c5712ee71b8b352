/**
 * Model cards for trained versions: what the model is for (as the person who trained it said),
 * what it was trained and evaluated on, how well it did with 95% intervals, per subgroup, how well
 * its probabilities are calibrated, and what a reader should be wary of. Built once from the
 * training run and stored with the version as JSON; `renderModelCardMarkdown` turns it into the
 * Markdown a clinician or reviewer reads. Only aggregates appear here, never a patient's row.
 */
import { rangeText } from '../core/index.js';
import type { InputRanges, NumericRange } from '../core/index.js';
import type { ColumnSchema, DatasetSchema } from '../datasets/index.js';
import type {
  BinaryReport,
  CalibrationBin,
  Estimate,
  MulticlassReport,
  RegressionReport,
} from '../training/index.js';

export const MODEL_CARD_SCHEMA = 'galen.model-card/1';

export interface ModelCardColumn {
  name: string;
  kind: string;
  /** How the served model takes it: FP32 (numbers; NaN = missing) or BYTES (text; '' = missing). */
  input: 'FP32' | 'BYTES' | 'not used';
  missingFraction: number;
  /** For categorical inputs: how many categories the model knows. */
  categories?: number;
  /**
   * For numeric inputs: the smallest and largest training value. Answers flag values outside it
   * (`out_of_range`), since the model has learnt nothing there.
   */
  trainingRange?: NumericRange;
  note?: string;
}

export interface ModelCardSubgroup {
  group: string;
  n: number;
  metrics: Record<string, Estimate>;
}

export interface ModelCard {
  schema: typeof MODEL_CARD_SCHEMA;
  details: {
    /** e.g. "histogram gradient-boosted trees". */
    algorithm: string;
    task: 'binary' | 'multiclass' | 'regression';
    target: string;
    /** The data column a target expression (`num > 0`) is derived from; not an input of the model. */
    targetColumn?: string;
    classes?: string[];
    positiveClass?: string;
    framework: string;
    trainedAt: string;
    seed: number;
    /** How `auto` chose, in words. */
    selection?: string;
    /** The training job, when trained by one. */
    job?: string;
  };
  intendedUse: {
    /** As given by whoever trained the model; null when they gave none. */
    statement: string | null;
  };
  data: {
    dataset: string;
    sha256: string;
    rows: number;
    trainRows: number;
    testRows: number;
    /** Rows left out because their target was missing. */
    droppedRows: number;
    evaluatedOn: string;
    /** How the data was de-identified on its way into training, in words (absent when it was not). */
    deidentified?: string;
    /** Target class counts (classification), training and held-out rows. */
    classBalance?: { train: Record<string, number>; test: Record<string, number> };
    /** A tabular model's columns (empty for other models). */
    columns: ModelCardColumn[];
    /** How a non-tabular model (images, sequences) takes its inputs. */
    inputs?: { name: string; description: string }[];
  };
  outputs: { name: string; description: string }[];
  metrics: {
    /** Headline held-out metrics with 95% bootstrap intervals. */
    test: Record<string, Estimate>;
    threshold?: number;
    confusion?: unknown;
    calibration?: readonly CalibrationBin[];
  };
  subgroups?: { column: string; groups: ModelCardSubgroup[] };
  limitations: string[];
}

export interface ModelCardInput {
  algorithm: string;
  framework: string;
  trainedAt: string;
  seed: number;
  target: string;
  task: 'binary' | 'multiclass' | 'regression';
  classes?: string[] | undefined;
  selection?: string | undefined;
  job?: string | undefined;
  intendedUse?: string | undefined;
  /** Limitations stated by whoever trained the model, listed before the ones Galen finds. */
  limitations?: readonly string[] | undefined;
  dataset: { ref: string; sha256: string; rows: number };
  /** A tabular model's dataset schema, and the feature columns it reads (the pipeline's inputs). */
  schema?: DatasetSchema | undefined;
  /** The column the target is derived from when it is an expression (`num > 0`). */
  targetSource?: string | undefined;
  inputs?: ReadonlyMap<string, { datatype: 'FP32' | 'BYTES'; categories?: number }> | undefined;
  /** The numeric inputs' ranges over the training rows (recorded with the version too). */
  ranges?: InputRanges | undefined;
  /** How another model (images, sequences) takes its inputs, in words. */
  modelInputs?: { name: string; description: string }[] | undefined;
  trainRows: number;
  testRows: number;
  droppedRows: number;
  evaluatedOn: string;
  deidentified?: string | undefined;
  /** Class index per training and held-out row (classification). */
  trainTargets?: ArrayLike<number> | undefined;
  testTargets?: ArrayLike<number> | undefined;
  report: BinaryReport | MulticlassReport | RegressionReport;
  subgroups?: { column: string; groups: Record<string, { n: number; report?: unknown }> } | undefined;
}

const SMALL_TEST_SET = 200;
const SMALL_SUBGROUP = 30;
const RARE_CLASS = 0.1;
const MUCH_MISSING = 0.2;
const MISCALIBRATED = 0.1;
const SUBGROUP_GAP = 0.05;

function isBinary(report: ModelCardInput['report']): report is BinaryReport {
  return 'auroc' in report;
}

function isMulticlass(report: ModelCardInput['report']): report is MulticlassReport {
  return 'macroF1' in report;
}

/** The estimates a card headlines for each kind of report. */
function headline(report: ModelCardInput['report']): Record<string, Estimate> {
  if (isBinary(report)) {
    const { auroc, auprc, accuracy, precision, recall, specificity, f1, brier } = report;
    return { auroc, auprc, accuracy, precision, recall, specificity, f1, brier };
  }
  if (isMulticlass(report)) {
    const { accuracy, macroPrecision, macroRecall, macroF1, logLoss } = report;
    return { accuracy, macroPrecision, macroRecall, macroF1, logLoss };
  }
  const { rmse, mae, r2 } = report;
  return { rmse, mae, r2 };
}

function counts(targets: ArrayLike<number>, classes: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
  for (let i = 0; i < targets.length; i++) {
    const c = classes[targets[i]!];
    if (c !== undefined) out[c] = (out[c] ?? 0) + 1;
  }
  return out;
}

function describeColumn(
  column: ColumnSchema,
  rows: number,
  input: NonNullable<ModelCardInput['inputs']>,
  ranges: InputRanges,
): ModelCardColumn {
  const used = input.get(column.name);
  const range = used?.datatype === 'FP32' ? ranges[column.name] : undefined;
  return {
    name: column.name,
    kind: column.kind,
    input: used ? used.datatype : 'not used',
    missingFraction: rows === 0 ? 0 : column.missing / rows,
    ...(used?.categories !== undefined && { categories: used.categories }),
    ...(range && { trainingRange: range }),
    ...((column.reason ?? column.warning) !== undefined && { note: column.reason ?? column.warning }),
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;

/** What a reader should be wary of, from the figures themselves. */
function findLimitations(input: ModelCardInput, card: Omit<ModelCard, 'limitations'>): string[] {
  const out: string[] = [];
  const { report } = input;
  out.push(
    `Evaluated retrospectively on ${input.testRows} held-out rows from the same source as the training data; it has not been validated prospectively or at another site, and performance may differ on other populations, sites, coding practices or time periods.`,
  );
  if (input.testRows < SMALL_TEST_SET) {
    out.push(
      `The held-out set is small (${input.testRows} rows), so the 95% intervals are wide: read the intervals, not only the point values.`,
    );
  }
  const balance = card.data.classBalance?.train;
  if (balance) {
    const total = Object.values(balance).reduce((a, b) => a + b, 0);
    for (const [cls, n] of Object.entries(balance)) {
      if (total > 0 && n / total < RARE_CLASS) {
        out.push(
          `Class "${cls}" is rare in the training rows (${n} of ${total}, ${pct(n / total)}); accuracy is dominated by the other class(es), so weigh recall, precision and AUPRC.`,
        );
      }
    }
  }
  if (isBinary(report)) {
    const gaps = report.calibration
      .filter((b) => b.count >= 10)
      .map((b) => ({ b, gap: Math.abs(b.observed - b.predicted) }));
    const worst = gaps.reduce<(typeof gaps)[number] | undefined>(
      (a, g) => (!a || g.gap > a.gap ? g : a),
      undefined,
    );
    if (worst && worst.gap > MISCALIBRATED) {
      out.push(
        `Predicted probabilities are miscalibrated in places: around p = ${worst.b.predicted.toFixed(2)} the observed rate was ${worst.b.observed.toFixed(2)} (${worst.b.count} rows). Do not read the output as an exact risk without recalibration.`,
      );
    }
    const low = report.auroc.ci95?.low;
    if (low !== undefined && low < 0.7) {
      out.push(
        `Discrimination is modest (AUROC ${report.auroc.value.toFixed(3)}, 95% interval down to ${low.toFixed(3)}): the model ranks patients only somewhat better than chance and should not be used alone for individual decisions.`,
      );
    }
  }
  const missing = card.data.columns.filter((c) => c.input !== 'not used' && c.missingFraction > MUCH_MISSING);
  if (missing.length > 0) {
    out.push(
      `Some inputs are often missing in the training data (${missing.map((c) => `${c.name} ${pct(c.missingFraction)}`).join(', ')}); predictions lean on how missingness was handled, which may not carry over to another site.`,
    );
  }
  if (card.data.columns.some((c) => c.input === 'BYTES')) {
    out.push(
      'A categorical value not seen in training is treated like a missing one (all indicator features zero); check that input codes match the training data.',
    );
  }
  if (input.droppedRows > 0) {
    out.push(`${input.droppedRows} rows had no target value and were not used for training or evaluation.`);
  }
  if (card.subgroups) {
    const small = card.subgroups.groups.filter((g) => g.n < SMALL_SUBGROUP);
    if (small.length > 0) {
      out.push(
        `Subgroup figures for ${small.map((g) => `"${g.group}" (${g.n} rows)`).join(', ')} rest on fewer than ${SMALL_SUBGROUP} held-out rows and are unreliable.`,
      );
    }
    const key = isBinary(report) ? 'auroc' : isMulticlass(report) ? 'accuracy' : undefined;
    if (key) {
      const values = card.subgroups.groups
        .filter((g) => g.n >= SMALL_SUBGROUP && g.metrics[key] && Number.isFinite(g.metrics[key].value))
        .map((g) => ({ group: g.group, value: g.metrics[key]!.value }));
      if (values.length >= 2) {
        const lo = values.reduce((a, b) => (b.value < a.value ? b : a));
        const hi = values.reduce((a, b) => (b.value > a.value ? b : a));
        if (hi.value - lo.value > SUBGROUP_GAP) {
          out.push(
            `Performance differs across ${card.subgroups.column}: ${key} ${hi.value.toFixed(3)} for "${hi.group}" vs ${lo.value.toFixed(3)} for "${lo.group}". Check whether the difference matters for the intended use before deploying.`,
          );
        }
      }
    }
  } else {
    out.push(
      'No subgroup analysis was requested (name a sensitive column such as sex or age band to get one); performance across patient groups is unknown.',
    );
  }
  return out;
}

function subgroupMetrics(report: unknown): Record<string, Estimate> {
  if (typeof report !== 'object' || report === null) return {};
  return headline(report as ModelCardInput['report']);
}

/** Builds the card from one training run's facts and held-out report. */
export function buildModelCard(input: ModelCardInput): ModelCard {
  const { report } = input;
  const classification = input.task !== 'regression';
  const card: Omit<ModelCard, 'limitations'> = {
    schema: MODEL_CARD_SCHEMA,
    details: {
      algorithm: input.algorithm,
      task: input.task,
      target: input.target,
      ...(input.targetSource !== undefined && { targetColumn: input.targetSource }),
      ...(input.classes && { classes: input.classes }),
      ...(input.task === 'binary' && input.classes && { positiveClass: input.classes[1]! }),
      framework: input.framework,
      trainedAt: input.trainedAt,
      seed: input.seed,
      ...(input.selection !== undefined && { selection: input.selection }),
      ...(input.job !== undefined && { job: input.job }),
    },
    intendedUse: { statement: input.intendedUse?.trim() || null },
    data: {
      dataset: input.dataset.ref,
      sha256: input.dataset.sha256,
      rows: input.dataset.rows,
      trainRows: input.trainRows,
      testRows: input.testRows,
      droppedRows: input.droppedRows,
      evaluatedOn: input.evaluatedOn,
      ...(input.deidentified !== undefined && { deidentified: input.deidentified }),
      ...(classification &&
        input.classes &&
        input.trainTargets &&
        input.testTargets && {
          classBalance: {
            train: counts(input.trainTargets, input.classes),
            test: counts(input.testTargets, input.classes),
          },
        }),
      columns: (input.schema?.columns ?? [])
        // The target, and the column it is derived from, are what the model predicts, not inputs.
        .filter((c) => c.role !== 'target' && c.name !== input.targetSource)
        .map((c) => describeColumn(c, input.schema!.rows, input.inputs ?? new Map(), input.ranges ?? {})),
      ...(input.modelInputs && { inputs: input.modelInputs }),
    },
    outputs: classification
      ? [
          {
            name: 'label',
            description: `the most probable class (one of ${input.classes!.map((c) => `"${c}"`).join(', ')})`,
          },
          {
            name: 'probabilities',
            description: `one probability per class, in the order ${input.classes!.map((c) => `"${c}"`).join(', ')}`,
          },
        ]
      : [{ name: 'prediction', description: `the predicted ${input.target}` }],
    metrics: {
      test: headline(report),
      ...(isBinary(report) && {
        threshold: report.threshold,
        confusion: report.confusion,
        calibration: report.calibration,
      }),
      ...(isMulticlass(report) && { confusion: report.confusion }),
    },
    ...(input.subgroups && {
      subgroups: {
        column: input.subgroups.column,
        groups: Object.entries(input.subgroups.groups).map(([group, g]) => ({
          group,
          n: g.n,
          metrics: subgroupMetrics(g.report),
        })),
      },
    }),
  };
  return { ...card, limitations: [...(input.limitations ?? []), ...findLimitations(input, card)] };
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(4));

function estimateText(e: Estimate | undefined): string {
  if (!e || !Number.isFinite(e.value)) return 'n/a';
  return e.ci95 ? `${fmt(e.value)} (${fmt(e.ci95.low)}–${fmt(e.ci95.high)})` : fmt(e.value);
}

function tableOf(headers: string[], rows: string[][]): string[] {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ];
}

/**
 * The card as Markdown, headed by the model and version it belongs to.
 * @example renderModelCardMarkdown(card, 'readmission', 3)
 */
export function renderModelCardMarkdown(card: ModelCard, model: string, version: number): string {
  const d = card.details;
  const lines: string[] = [`# Model card: ${model} version ${version}`, ''];
  lines.push('## Model details', '');
  lines.push(`- Algorithm: ${d.algorithm} (${d.framework})`);
  lines.push(
    `- Task: ${d.task === 'regression' ? `regression of "${d.target}"` : `${d.task} classification of "${d.target}"`}` +
      (d.targetColumn !== undefined ? ` (derived from column "${d.targetColumn}")` : '') +
      (d.positiveClass !== undefined ? `; positive class "${d.positiveClass}"` : ''),
  );
  if (d.classes && d.task === 'multiclass')
    lines.push(`- Classes: ${d.classes.map((c) => `"${c}"`).join(', ')}`);
  lines.push(`- Trained: ${d.trainedAt}, seed ${d.seed}${d.job !== undefined ? `, job ${d.job}` : ''}`);
  if (d.selection !== undefined) lines.push(`- Model selection: ${d.selection}`);
  lines.push('', '## Intended use', '');
  lines.push(
    card.intendedUse.statement ??
      '_Not stated._ Whoever trained this model gave no intended use; do not deploy it until one is agreed and recorded.',
  );
  lines.push('', '## Inputs and outputs', '');
  if (card.data.inputs) {
    lines.push('Inputs (either form):', ...card.data.inputs.map((i) => `- \`${i.name}\`: ${i.description}`));
  } else {
    renderColumns(card, lines);
  }
  lines.push('', 'Outputs:', ...card.outputs.map((o) => `- \`${o.name}\`: ${o.description}`));
  lines.push('', '## Data', '');
  lines.push(`- Dataset: ${card.data.dataset} (${card.data.rows} rows, sha256 \`${card.data.sha256}\`)`);
  lines.push(`- Training rows: ${card.data.trainRows}; held-out rows: ${card.data.testRows}`);
  if (card.data.droppedRows > 0) lines.push(`- Rows without a target (not used): ${card.data.droppedRows}`);
  lines.push(`- Evaluated on: ${card.data.evaluatedOn}`);
  if (card.data.deidentified) lines.push(`- De-identified before training: ${card.data.deidentified}`);
  if (card.data.classBalance) {
    const { train, test } = card.data.classBalance;
    lines.push(
      '',
      ...tableOf(
        ['Class', 'Training rows', 'Held-out rows'],
        Object.keys(train).map((c) => [c, String(train[c]), String(test[c] ?? 0)]),
      ),
    );
  }
  lines.push('', '## Held-out performance', '');
  lines.push(
    'Point value with its 95% bootstrap interval, on the held-out rows, scored by the served ONNX graph.',
    '',
  );
  lines.push(
    ...tableOf(
      ['Metric', 'Value (95% CI)'],
      Object.entries(card.metrics.test).map(([k, e]) => [k, estimateText(e)]),
    ),
  );
  const confusion = card.metrics.confusion as
    { tp?: number; fp?: number; tn?: number; fn?: number } | undefined;
  if (card.metrics.threshold !== undefined && confusion?.tp !== undefined) {
    lines.push(
      '',
      `At threshold ${card.metrics.threshold}: ${confusion.tp} true positives, ${confusion.fp} false positives, ${confusion.tn} true negatives, ${confusion.fn} false negatives.`,
    );
  }
  if (card.metrics.calibration && card.metrics.calibration.length > 0) {
    lines.push('', '### Calibration', '');
    lines.push(
      ...tableOf(
        ['Mean predicted', 'Observed rate', 'Rows'],
        card.metrics.calibration.map((b) => [b.predicted.toFixed(3), b.observed.toFixed(3), String(b.count)]),
      ),
    );
  }
  if (card.subgroups) {
    lines.push('', `## Subgroups by ${card.subgroups.column}`, '');
    const keys = Object.keys(card.metrics.test);
    lines.push(
      ...tableOf(
        ['Group', 'Rows', ...keys],
        card.subgroups.groups.map((g) => [
          g.group,
          String(g.n),
          ...keys.map((k) => estimateText(g.metrics[k])),
        ]),
      ),
    );
  }
  lines.push('', '## Limitations', '', ...card.limitations.map((l) => `- ${l}`), '');
  return lines.join('\n');
}

/** A tabular model's inputs: one line per column. */
function renderColumns(card: ModelCard, lines: string[]): void {
  lines.push(
    'One input per column, shape [-1, 1]: FP32 for numbers (NaN or null = missing), BYTES (UTF-8) for categories (empty = missing).',
    '',
  );
  const used = card.data.columns.filter((c) => c.input !== 'not used');
  lines.push(
    ...tableOf(
      ['Column', 'Kind', 'Input', 'Missing in data', 'Training range'],
      used.map((c) => [
        c.name,
        c.categories !== undefined ? `${c.kind} (${c.categories} categories)` : c.kind,
        c.input,
        pct(c.missingFraction),
        c.trainingRange ? rangeText(c.trainingRange) : '',
      ]),
    ),
  );
  if (used.some((c) => c.trainingRange)) {
    lines.push(
      '',
      'Answers flag numeric inputs outside their training range (OIP response parameter `out_of_range`, a note in FHIR and CDS Hooks answers): the model learnt nothing there.',
    );
  }
  const unused = card.data.columns.filter((c) => c.input === 'not used');
  if (unused.length > 0) {
    lines.push(
      '',
      `Not used: ${unused.map((c) => `${c.name}${c.note !== undefined ? ` (${c.note})` : ''}`).join('; ')}.`,
    );
  }
}
