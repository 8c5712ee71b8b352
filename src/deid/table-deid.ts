/**
 * De-identification of a table (CSV rows): a rule per column, then k-anonymity (and optionally
 * l-diversity) enforced over chosen quasi-identifiers by generalising them step by step (ages to
 * bands, ZIP codes to fewer digits, years to spans, categories to `*`) and suppressing the rows
 * still in too-small groups. Everything done is reported, with the k and l achieved.
 */
import { createHmac } from 'node:crypto';
import { GalenError } from '../core/index.js';
import { maskPatterns, zip3Of } from './safe-harbor.js';

export type ColumnRule =
  | 'keep'
  | 'remove'
  /** Keyed HMAC pseudonym (needs the key). */
  | 'pseudonymize'
  /** A date reduced to its year. */
  | 'year'
  /** A ZIP code to its first three digits (000 for small areas). */
  | 'zip3'
  /** An age in years; over 89 becomes "90+". */
  | 'age'
  /** Free text: phone, email, SSN, URL, IP and date patterns masked. */
  | 'mask';

export interface TableDeidConfig {
  columns: Record<string, ColumnRule>;
  /** What happens to columns `columns` does not name (default remove: nothing passes unreviewed). */
  otherColumns?: 'keep' | 'remove';
  quasiIdentifiers?: string[];
  /** Every combination of quasi-identifier values is shared by at least k rows (default 5 when quasi-identifiers are given). */
  k?: number;
  /** Each group holds at least `l` distinct values of `sensitive`. */
  lDiversity?: { sensitive: string; l: number };
  /** Most rows that may be suppressed (share of all), before generalising further (default 0.05). */
  maxSuppression?: number;
}

export interface TableDeidReport {
  columns: Record<string, string>;
  generalisation: Record<string, string>;
  suppressedRows: number;
  rows: number;
  /** The smallest group of equal quasi-identifiers in the output. */
  k?: number;
  /** The fewest distinct sensitive values in a group. */
  l?: number;
  masked: number;
  /**
   * Values a `year` or `age` rule could not read, left empty, by column (only columns with any):
   * a `year` needs a date that starts with a 4-digit year, an `age` a number of years.
   */
  emptied: Record<string, number>;
}

type Row = (string | null)[];

/**
 * How a quasi-identifier generalises, chosen per column: numbers into 5-, 10-, then 20-wide bands;
 * ZIP codes (a `zip3` column) a digit at a time; anything else straight to `*`.
 */
type Ladder = 'bands' | 'digits' | 'suppress';

function ladderOf(rule: ColumnRule, values: readonly (string | null)[]): Ladder {
  if (rule === 'zip3') return 'digits';
  const present = values.filter((v): v is string => v !== null && v.trim() !== '');
  return present.length > 0 && present.every((v) => Number.isFinite(Number(v))) ? 'bands' : 'suppress';
}

/** `value` at generalisation `level` of its column's ladder (level 0 is the value as it is). */
function generalise(value: string | null, level: number, ladder: Ladder): string | null {
  if (value === null || level === 0) return value;
  if (ladder === 'bands') {
    const widths = [5, 10, 20];
    if (level > widths.length) return '*';
    const w = widths[level - 1]!;
    const low = Math.floor(Number(value) / w) * w;
    return `[${low}-${low + w})`;
  }
  if (ladder === 'digits') {
    const keep = value.length - level;
    return keep <= 0 ? '*' : `${value.slice(0, keep)}${'x'.repeat(value.length - keep)}`;
  }
  return '*';
}

/** What a generalisation level did, in words for the report. */
function describeLevel(level: number, ladder: Ladder): string {
  if (level === 0) return 'as is';
  if (ladder === 'bands' && level <= 3) return `${[5, 10, 20][level - 1]}-wide bands (level ${level})`;
  if (ladder === 'digits') return `last ${level} digit${level > 1 ? 's' : ''} masked (level ${level})`;
  return `replaced by * (level ${level})`;
}

function groupsOf(rows: readonly Row[], qi: readonly number[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const key = JSON.stringify(qi.map((c) => row[c] ?? null));
    const list = groups.get(key);
    if (list) list.push(i);
    else groups.set(key, [i]);
  });
  return groups;
}

export function deidentifyTable(
  header: readonly string[],
  input: readonly Row[],
  config: TableDeidConfig,
  key?: Uint8Array,
): { header: string[]; rows: Row[]; report: TableDeidReport } {
  const report: TableDeidReport = {
    columns: {},
    generalisation: {},
    suppressedRows: 0,
    rows: 0,
    masked: 0,
    emptied: {},
  };
  for (const name of Object.keys(config.columns)) {
    if (!header.includes(name))
      throw new GalenError(
        'invalid_input',
        `the config names column "${name}", which the table does not have`,
      );
  }
  const rules = header.map(
    (name) => config.columns[name] ?? (config.otherColumns === 'keep' ? 'keep' : 'remove'),
  );
  if (rules.includes('pseudonymize') && (!key || key.length < 16)) {
    throw new GalenError('invalid_input', 'a pseudonymize column needs a key of at least 16 bytes');
  }
  const kept = header.map((_, i) => i).filter((i) => rules[i] !== 'remove');
  header.forEach((name, i) => (report.columns[name] = rules[i]!));
  const emptied = (column: string): null => {
    report.emptied[column] = (report.emptied[column] ?? 0) + 1;
    return null;
  };
  const apply = (rule: ColumnRule, value: string | null, column: string): string | null => {
    if (value === null || value === '') return value;
    switch (rule) {
      case 'pseudonymize':
        return createHmac('sha256', key!).update(value).digest('hex').slice(0, 24);
      case 'year':
        // Only a leading 4-digit year is read: "3/5/94" could be 1894, 1994 or 2094.
        return /^(\d{4})/.exec(value)?.[1] ?? emptied(column);
      case 'zip3':
        return zip3Of(value);
      case 'age': {
        // A value that is not a number of years cannot be checked against 89: it is not kept.
        const years = Number(value.trim());
        if (value.trim() === '' || !Number.isFinite(years)) return emptied(column);
        return years > 89 ? '90+' : value;
      }
      case 'mask':
        return maskPatterns(value, () => report.masked++);
      case 'keep':
      case 'remove':
        return value;
    }
  };
  let rows: Row[] = input.map((row) => kept.map((i) => apply(rules[i]!, row[i] ?? null, header[i]!)));
  const outHeader = kept.map((i) => header[i]!);

  const qiNames = config.quasiIdentifiers ?? [];
  const qi = qiNames.map((name) => {
    const at = outHeader.indexOf(name);
    if (at < 0) throw new GalenError('invalid_input', `quasi-identifier "${name}" is not a kept column`);
    return at;
  });
  const sensitive = config.lDiversity && outHeader.indexOf(config.lDiversity.sensitive);
  if (config.lDiversity && (sensitive === undefined || sensitive < 0)) {
    throw new GalenError(
      'invalid_input',
      `l-diversity's sensitive column "${config.lDiversity.sensitive}" is not a kept column`,
    );
  }
  if (qi.length > 0) {
    const k = config.k ?? 5;
    const l = config.lDiversity?.l ?? 1;
    const budget = Math.floor((config.maxSuppression ?? 0.05) * rows.length);
    const original = rows;
    const levels = qi.map(() => 0);
    const failing = (candidate: readonly Row[]): number[] => {
      const out: number[] = [];
      for (const members of groupsOf(candidate, qi).values()) {
        const distinct =
          sensitive === undefined ? l : new Set(members.map((i) => candidate[i]![sensitive])).size;
        if (members.length < k || distinct < l) out.push(...members);
      }
      return out;
    };
    const ladders = qi.map((c) =>
      ladderOf(
        rules[kept[c]!]!,
        original.map((row) => row[c] ?? null),
      ),
    );
    const generalised = (): Row[] =>
      original.map((row) =>
        row.map((v, c) => {
          const j = qi.indexOf(c);
          return j < 0 ? v : generalise(v, levels[j]!, ladders[j]!);
        }),
      );
    rows = generalised();
    // Generalise the quasi-identifier with the most distinct values until suppression fits the budget.
    for (let step = 0; failing(rows).length > budget && step < 20; step++) {
      const distinct = qi.map((c) => new Set(rows.map((r) => r[c])).size);
      const j = distinct.indexOf(Math.max(...distinct));
      if (distinct[j]! <= 1) break;
      levels[j]!++;
      rows = generalised();
    }
    const suppressed = new Set(failing(rows));
    rows = rows.filter((_, i) => !suppressed.has(i));
    report.suppressedRows = suppressed.size;
    qiNames.forEach((name, j) => (report.generalisation[name] = describeLevel(levels[j]!, ladders[j]!)));
    const groups = [...groupsOf(rows, qi).values()];
    report.k =
      groups.length > 0 ? groups.reduce((m, g) => Math.min(m, g.length), Number.POSITIVE_INFINITY) : 0;
    if (sensitive !== undefined) {
      report.l =
        groups.length > 0
          ? groups.reduce(
              (m, g) => Math.min(m, new Set(g.map((i) => rows[i]![sensitive])).size),
              Number.POSITIVE_INFINITY,
            )
          : 0;
    }
  }
  report.rows = rows.length;
  return { header: outHeader, rows, report };
}

const COLUMN_RULES: readonly ColumnRule[] = ['keep', 'remove', 'pseudonymize', 'year', 'zip3', 'age', 'mask'];
const CONFIG_SHAPE =
  '{"columns": {"<column>": "keep|remove|pseudonymize|year|zip3|age|mask"}, "otherColumns"?: "keep|remove", "quasiIdentifiers"?: [...], "k"?: 5, "lDiversity"?: {"sensitive": "<column>", "l": 2}, "maxSuppression"?: 0.05}';

/** Checks table de-identification rules from JSON, saying what is wrong and what is allowed. */
export function parseTableDeidConfig(raw: unknown): TableDeidConfig {
  const fail = (message: string): never => {
    throw new GalenError('invalid_input', `de-identification rules: ${message}; they are ${CONFIG_SHAPE}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not an object');
  const r = raw as Record<string, unknown>;
  const known = ['columns', 'otherColumns', 'quasiIdentifiers', 'k', 'lDiversity', 'maxSuppression'];
  const extra = Object.keys(r).find((k) => !known.includes(k));
  if (extra !== undefined) fail(`unknown field "${extra}"`);
  const columns = r['columns'];
  if (typeof columns !== 'object' || columns === null || Array.isArray(columns))
    return fail('"columns" is missing');
  for (const [name, rule] of Object.entries(columns)) {
    if (!COLUMN_RULES.includes(rule as ColumnRule)) fail(`column "${name}" has rule ${JSON.stringify(rule)}`);
  }
  const other = r['otherColumns'];
  if (other !== undefined && other !== 'keep' && other !== 'remove')
    fail('"otherColumns" is "keep" or "remove"');
  const qi = r['quasiIdentifiers'];
  if (qi !== undefined && (!Array.isArray(qi) || qi.some((q) => typeof q !== 'string')))
    fail('"quasiIdentifiers" is a list of column names');
  const k = r['k'];
  if (k !== undefined && (typeof k !== 'number' || !Number.isInteger(k) || k < 2 || k > 1000))
    fail('"k" is an integer from 2 to 1000');
  const ld = r['lDiversity'] as Record<string, unknown> | undefined;
  if (
    ld !== undefined &&
    (typeof ld !== 'object' ||
      ld === null ||
      typeof ld['sensitive'] !== 'string' ||
      typeof ld['l'] !== 'number' ||
      !Number.isInteger(ld['l']) ||
      ld['l'] < 2)
  )
    fail('"lDiversity" is {"sensitive": "<column>", "l": 2 or more}');
  const ms = r['maxSuppression'];
  if (ms !== undefined && (typeof ms !== 'number' || !(ms >= 0 && ms <= 0.5)))
    fail('"maxSuppression" is a share from 0 to 0.5');
  return raw as TableDeidConfig;
}
