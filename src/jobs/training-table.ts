/**
 * Shared by the tabular trainers: a stored table (with its separate test data, if any) read and
 * its target derived and schema inferred as the request says; held-out rows as the served graph
 * takes them; held-out metrics per subgroup.
 */
import { GalenError, rangesOfColumns } from '../core/index.js';
import type { Actor, FeatureLayout, InputRanges, PipelineSpec, ScoredOutput, Tensor } from '../core/index.js';
import { deriveTarget, inferSchema, parseTargetExpression } from '../datasets/index.js';
import type { DatasetSchema, ParsedTable } from '../datasets/index.js';
import { deidentifyTable, parseTableDeidConfig } from '../deid/index.js';
import type { TableDeidConfig, TableDeidReport } from '../deid/index.js';
import { buildProfile } from '../monitoring/index.js';
import type { DatasetRegistry, DatasetVersion } from '../registry/index.js';
import { bySubgroup } from '../training/index.js';
import type { PipelineColumns } from '../training/index.js';
import type { TrainModelRequest } from './train-model.js';

export interface TrainingTable {
  /** What de-identification did to the data on its way in (training and test rows together), when asked. */
  deid?: { report: TableDeidReport; summary: string } | undefined;
  dataset: DatasetVersion;
  testDataset: DatasetVersion | undefined;
  table: ParsedTable;
  /** Rows of `table` that come from the separate test data. */
  testRows: number[] | undefined;
  schema: DatasetSchema;
  /**
   * The column a target expression (`num > 0`) is derived from: not a feature, and not an unused
   * input either (the model card names it with the target).
   */
  targetSource: string | undefined;
}

/** Reads the request's table, derives a target expression (`num > 0`) and infers the schema, checked. */
export async function loadTrainingTable(
  deps: { datasets: DatasetRegistry; deidKey?: Uint8Array | undefined },
  request: TrainModelRequest,
  actor: Actor,
): Promise<TrainingTable> {
  const dataset = await deps.datasets.get(request.dataset, request.datasetVersion, actor);
  let table = await deps.datasets.load(dataset);
  let testRows: number[] | undefined;
  let testDataset: DatasetVersion | undefined;
  if (request.testDataset !== undefined) {
    testDataset = await deps.datasets.get(request.testDataset, undefined, actor);
    const held = await deps.datasets.load(testDataset);
    if (held.columns.join('\u0000') !== table.columns.join('\u0000')) {
      throw new GalenError(
        'invalid_input',
        `the test data's columns (${held.columns.join(', ')}) differ from the training data's (${table.columns.join(', ')})`,
      );
    }
    testRows = held.rows.map((_, i) => table.rows.length + i);
    table = { columns: table.columns, rows: [...table.rows, ...held.rows] };
  }
  // De-identification on the way in: what is trained on and held out is the de-identified table.
  let deid: TrainingTable['deid'];
  if (request.deid !== undefined) {
    const rules = parseTableDeidConfig(request.deid);
    checkDeidRules(rules, table.columns, request, deps.deidKey !== undefined);
    const done = deidentifyForTraining(table, testRows, rules, deps.deidKey);
    table = done.table;
    testRows = done.testRows;
    deid = { report: done.report, summary: deidSummary(done.report) };
  }
  // A target such as `num > 0` is derived from its column, which then stops being a feature.
  let target = request.target;
  let overrides = request.overrides;
  const expression = parseTargetExpression(request.target, table.columns);
  const targetSource = expression?.column;
  if (expression) {
    table = deriveTarget(table, expression);
    target = expression.name;
    overrides = { ...overrides, [expression.column]: { ...overrides?.[expression.column], role: 'ignored' } };
  }
  const schema = inferSchema(table, { target, ...(overrides !== undefined && { overrides }) });
  // A clinical number with a typo in one row must not quietly become text or categories.
  const suspect = schema.columns.find((c) => c.mostlyNumbers && c.role !== 'target' && !overrides?.[c.name]);
  if (suspect) {
    throw new GalenError(
      'invalid_input',
      `column "${suspect.name}" is ${suspect.warning ?? 'mostly numbers'}; or say what it is with an override, e.g. {"${suspect.name}": {"role": "ignored"}} to train without it or {"kind": "categorical"}`,
    );
  }
  if (request.sensitive !== undefined && !table.columns.includes(request.sensitive)) {
    throw new GalenError(
      'invalid_input',
      `the sensitive column "${request.sensitive}" is not in the data; its columns are ${table.columns.join(', ')}`,
    );
  }
  return { dataset, testDataset, table, testRows, schema, deid, targetSource };
}

/** The column marking which rows are held out while training and test rows are de-identified together. */
const PART = '\u0000galen-part';

/**
 * De-identifies training and test rows together, so both get the same generalisation (a band
 * seen in training is the band held out) and k-anonymity holds over the data the model sees;
 * then splits them again. Ages over 89 become 90 (the "90+" group as a number, so the column
 * stays numeric).
 */
function deidentifyForTraining(
  table: ParsedTable,
  testRows: readonly number[] | undefined,
  rules: TableDeidConfig,
  key: Uint8Array | undefined,
): { table: ParsedTable; testRows: number[] | undefined; report: TableDeidReport } {
  const held = new Set(testRows ?? []);
  const out = deidentifyTable(
    [...table.columns, PART],
    table.rows.map((row, i) => [...row, held.has(i) ? 'test' : 'train']),
    { ...rules, columns: { ...rules.columns, [PART]: 'keep' } },
    key,
  );
  const part = out.header.indexOf(PART);
  const ages = out.header.map((c, j) => (rules.columns[c] === 'age' ? j : -1)).filter((j) => j >= 0);
  const rows = out.rows.map((row) => {
    const cells = row.filter((_, j) => j !== part);
    for (const j of ages) if (row[j] === '90+') cells[j < part ? j : j - 1] = '90';
    return cells;
  });
  const isTest = out.rows.map((row) => row[part] === 'test');
  const train = rows.filter((_, i) => !isTest[i]);
  const test = rows.filter((_, i) => isTest[i]);
  if (testRows && test.length === 0) {
    throw new GalenError(
      'invalid_input',
      'de-identification suppressed every row of the test data; loosen k or use more test rows',
    );
  }
  const { [PART]: _part, ...columns } = out.report.columns;
  return {
    table: { columns: out.header.filter((c) => c !== PART), rows: [...train, ...test] },
    testRows: testRows && test.map((_, i) => train.length + i),
    report: { ...out.report, columns },
  };
}

/**
 * Checks de-identification rules against a training request before anything runs: every column
 * they name exists, quasi-identifiers and the l-diversity column are kept, the target's column is
 * kept as it is and is not a quasi-identifier, the sensitive column survives, and pseudonyms
 * have a key.
 */
export function checkDeidRules(
  rules: TableDeidConfig,
  columns: readonly string[],
  request: Pick<TrainModelRequest, 'dataset' | 'target' | 'sensitive'>,
  hasKey: boolean,
): void {
  const fail = (message: string): never => {
    throw new GalenError('invalid_input', `de-identification rules: ${message}`);
  };
  const known = (c: string, what: string): void => {
    if (!columns.includes(c))
      fail(`${what} "${c}" is not a column of ${request.dataset}; its columns are ${columns.join(', ')}`);
  };
  const ruleOf = (c: string): string => rules.columns[c] ?? rules.otherColumns ?? 'remove';
  for (const c of Object.keys(rules.columns)) known(c, 'they name column');
  for (const c of rules.quasiIdentifiers ?? []) {
    known(c, 'quasi-identifier');
    if (ruleOf(c) === 'remove')
      fail(`quasi-identifier "${c}" is removed; keep it (or give it a rule) to generalise it`);
  }
  if (rules.lDiversity) {
    known(rules.lDiversity.sensitive, 'the l-diversity column');
    if (ruleOf(rules.lDiversity.sensitive) === 'remove')
      fail(`the l-diversity column "${rules.lDiversity.sensitive}" is removed`);
  }
  const target = columns.includes(request.target)
    ? request.target
    : parseTargetExpression(request.target, [...columns])?.column;
  if (target === undefined)
    fail(`the target "${request.target}" is neither a column nor a comparison of one`);
  if (ruleOf(target!) !== 'keep')
    fail(
      `they would ${ruleOf(target!) === 'remove' ? 'remove' : 'change'} the target column "${target}"; give it "keep"`,
    );
  if (rules.quasiIdentifiers?.includes(target!))
    fail(
      `the target column "${target}" is a quasi-identifier, so it would be generalised; take it out of quasiIdentifiers`,
    );
  if (request.sensitive !== undefined && ruleOf(request.sensitive) === 'remove')
    fail(`they remove the sensitive column "${request.sensitive}" the subgroup metrics need`);
  if (Object.values(rules.columns).includes('pseudonymize') && !hasKey) {
    throw new GalenError(
      'precondition_failed',
      'a "pseudonymize" rule needs the server\'s de-identification key: set deid.keyFile (GALEN_DEID_KEY_FILE)',
    );
  }
}

/** The limitation a model trained on de-identified data carries on its card. */
export function deidLimitation(summary: string): string {
  return `Trained on de-identified data (${summary}). Inputs must be given the same way: a generalised column takes its band or year, not the raw value, and a pseudonymised one its pseudonym.`;
}

/** What each column rule did, in words for the model card. */
const RULE_WORDS: Record<string, string> = {
  remove: 'removed',
  pseudonymize: 'pseudonymised',
  year: 'reduced to the year',
  zip3: 'reduced to a 3-digit ZIP',
  age: 'over 89 as 90+',
  mask: 'identifying text masked',
};

/**
 * What de-identification did, in one line for the model card and the job log: each column rule
 * other than keep, each quasi-identifier that was generalised, values emptied, k, l and the rows.
 */
export function deidSummary(report: TableDeidReport): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const rules = Object.entries(report.columns)
    .filter(([, rule]) => rule !== 'keep')
    .map(([column, rule]) => `${column} ${RULE_WORDS[rule] ?? rule}`);
  const generalised = Object.entries(report.generalisation)
    .filter(([, g]) => g !== 'as is')
    .map(([c, g]) => `${c} generalised to ${g}`);
  const emptied = Object.entries(report.emptied).map(
    ([c, n]) => `${c}: ${plural(n, 'value')} the rule could not read left empty`,
  );
  return [
    ...rules,
    ...generalised,
    ...emptied,
    ...(report.k !== undefined ? [`k-anonymity k = ${report.k}`] : []),
    ...(report.l !== undefined ? [`l-diversity l = ${report.l}`] : []),
    `${plural(report.suppressedRows, 'row')} suppressed, ${report.rows} kept`,
  ].join('; ');
}

/**
 * Held-out metrics per group of the `sensitive` column (its raw values in the held-out rows);
 * `evaluate` receives positions within the held-out rows.
 */
export function subgroupMetrics(
  table: { columns: string[]; rows: (string | null)[][] },
  sensitive: string,
  testRows: readonly number[],
  evaluate: (rows: number[]) => unknown,
): Record<string, { n: number; report?: unknown }> {
  const index = table.columns.indexOf(sensitive);
  if (index < 0) {
    throw new GalenError(
      'invalid_input',
      `the sensitive column "${sensitive}" is not in the data; its columns are ${table.columns.join(', ')}`,
    );
  }
  return bySubgroup(
    testRows.map((r) => table.rows[r]?.[index] ?? null),
    evaluate,
  );
}

/** The held-out rows as the served model takes them: one [n, 1] tensor per column. */
export function toTensors(features: PipelineSpec['features'], columns: PipelineColumns, n: number): Tensor[] {
  return features.map((f): Tensor => {
    const cells = columns[f.column] ?? [];
    if (f.kind === 'numeric') {
      const data = Float32Array.from(cells, (c) => (c === null ? Number.NaN : Number(c)));
      return { name: f.column, datatype: 'FP32', shape: [n, 1], data };
    }
    return {
      name: f.column,
      datatype: 'BYTES',
      shape: [n, 1],
      data: cells.map((c) => Buffer.from(c === null ? '' : String(c), 'utf8')),
    };
  });
}

/**
 * The numeric features' ranges over the training rows: recorded with the version
 * (`trainingRanges`) and on its card, so answers can flag values outside them.
 */
export function trainingRanges(
  features: PipelineSpec['features'],
  trainColumns: PipelineColumns,
): InputRanges {
  return rangesOfColumns(
    trainColumns,
    features.filter((f) => f.kind === 'numeric').map((f) => f.column),
  );
}

/** How the served graph takes each feature column, for the model card. */
export function columnInputs(
  features: PipelineSpec['features'],
): Map<string, { datatype: 'FP32' } | { datatype: 'BYTES'; categories: number }> {
  return new Map(
    features.map((f) => [
      f.column,
      f.kind === 'numeric'
        ? { datatype: 'FP32' as const }
        : { datatype: 'BYTES' as const, categories: f.categories.length },
    ]),
  );
}

/** The model card's subgroups: the sensitive column and the per-group metrics, when there is one. */
export function cardSubgroups(
  sensitive: string | undefined,
  metrics: Record<string, unknown>,
): { column: string; groups: Record<string, { n: number; report?: unknown }> } | undefined {
  if (sensitive === undefined) return undefined;
  return {
    column: sensitive,
    groups: metrics['subgroups'] as Record<string, { n: number; report?: unknown }>,
  };
}

/** The lineage parameters every tabular version records about its data, target and job. */
export function lineageOf(
  dataset: DatasetVersion,
  testDataset: DatasetVersion | undefined,
  request: Pick<TrainModelRequest, 'target' | 'positive' | 'threshold' | 'deid'>,
  job: string | undefined,
  deid?: TrainingTable['deid'],
): Record<string, unknown> {
  return {
    ...(deid && { deid: { rules: request.deid, report: deid.report } }),
    dataset: `${dataset.name}:${dataset.version}`,
    ...(testDataset && {
      testDataset: `${testDataset.name}:${testDataset.version}`,
      testDatasetSha256: testDataset.sha256,
    }),
    ...(job !== undefined && { job }),
    target: request.target,
    ...(request.positive !== undefined && { positive: request.positive }),
    ...(request.threshold !== undefined && { threshold: request.threshold }),
  };
}

/**
 * The monitoring profile of a trained tabular version: each input's distribution over the
 * training rows, and the prediction's over the held-out rows as the compiled graph scored them,
 * with the held-out performance as the baseline.
 */
export function trainedMonitoringProfile(input: {
  features: PipelineSpec['features'];
  classes: string[] | undefined;
  trainColumns: PipelineColumns;
  /** The compiled graph's output on the held-out rows (n × classes, or n values). */
  served: Float32Array;
  testTargets: Float64Array;
  sensitive: string | undefined;
  source: string;
}): Record<string, unknown> {
  const layout: FeatureLayout = {
    kind: 'columns',
    inputs: input.features.map((f) => ({
      name: f.column,
      datatype: f.kind === 'numeric' ? ('FP32' as const) : ('BYTES' as const),
    })),
  };
  const k = input.classes?.length ?? 1;
  const output: ScoredOutput = input.classes
    ? { tensor: 'probabilities', task: k === 2 ? 'binary' : 'multiclass', classes: input.classes }
    : { tensor: 'prediction', task: 'regression' };
  const names = input.features.map((f) => f.column);
  const n = input.trainColumns[names[0]!]?.length ?? 0;
  const rows = Array.from({ length: n }, (_, r) => names.map((c) => input.trainColumns[c]?.[r] ?? null));
  const outputs = Array.from({ length: input.testTargets.length }, (_, r) =>
    input.served.subarray(r * k, (r + 1) * k),
  );
  return buildProfile({
    layout,
    output,
    featureRows: rows,
    outputs,
    labels: input.testTargets,
    subgroupFeatures:
      input.sensitive !== undefined && names.includes(input.sensitive) ? [input.sensitive] : [],
    source: input.source,
    createdAt: new Date().toISOString(),
  }) as unknown as Record<string, unknown>;
}
