/**
 * `galen deid fhir <in> <out>`: de-identify a FHIR Bundle file (or a folder of them) by HIPAA Safe
 * Harbor, or pseudonymously with a key file (stable pseudonyms and date shifts across files), and
 * print what was changed.
 */
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { GalenError, jsonSyntaxText } from '../core/index.js';
import { formatCsv, parseCsv } from '../datasets/index.js';
import { deidentifyFhir, deidentifyTable, parseTableDeidConfig } from '../deid/index.js';
import type { DeidMode, DeidReport, TableDeidReport } from '../deid/index.js';
import { writeOutput } from './cli-errors.js';
import type { CliOptions } from './local-context.js';
import { print, table } from './local-context.js';

function mode(value: string): DeidMode {
  if (value !== 'safe-harbor' && value !== 'pseudonymous') {
    throw new InvalidArgumentError('safe-harbor or pseudonymous');
  }
  return value;
}

type FhirFlags = { mode: DeidMode; keyFile?: string; force?: boolean };
type CsvFlags = { rules: string; keyFile?: string; force?: boolean };

export function deidCommand(global: () => CliOptions): Command {
  const deid = new Command('deid').description(
    'de-identify patient data (HIPAA Safe Harbor, or keyed pseudonyms)',
  );
  deid
    .command('fhir <in> <out>')
    .description('de-identify a FHIR Bundle (JSON), or every .json file of a folder into another folder')
    .option('--mode <mode>', 'safe-harbor, or pseudonymous (needs --key-file)', mode, 'safe-harbor')
    .option(
      '--key-file <file>',
      'pseudonymous mode: a file of at least 16 secret bytes (keep it: it makes pseudonyms stable)',
    )
    .option('--force', 'overwrite outputs that exist')
    .action(async (input: string, output: string, o: FhirFlags) => {
      if (o.mode === 'pseudonymous' && !o.keyFile) {
        throw new GalenError(
          'invalid_input',
          'pseudonymous mode needs --key-file (e.g. from `openssl rand 32 > deid.key`)',
        );
      }
      const key = o.keyFile ? await readFile(o.keyFile) : undefined;
      const folder = (await stat(input)).isDirectory();
      const files = folder ? (await readdir(input)).filter((f) => f.endsWith('.json')).sort() : [input];
      if (folder) await mkdir(output, { recursive: true });
      const total: DeidReport = {};
      for (const file of files) {
        const source = folder ? join(input, file) : file;
        const text = await readFile(source, 'utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          // Where, not V8's message: it quotes the file around the fault (a patient's record).
          throw new GalenError(
            'invalid_input',
            `${source} is not JSON: ${jsonSyntaxText(text) ?? 'it does not parse'}`,
          );
        }
        const { output: clean, report } = deidentifyFhir(parsed, { mode: o.mode, key });
        const target = folder
          ? join(output, `deid-${String(files.indexOf(file) + 1).padStart(4, '0')}.json`)
          : output;
        await writeOutput(target, `${JSON.stringify(clean, null, 2)}\n`, o.force === true);
        for (const [kind, n] of Object.entries(report)) total[kind] = (total[kind] ?? 0) + n;
      }
      print({ files: files.length, mode: o.mode, changes: total }, global().json, () =>
        [
          `${files.length} file(s) de-identified (${o.mode})`,
          table(
            ['changed', 'count'],
            Object.entries(total).map(([k, n]) => [k, String(n)]),
          ),
        ].join('\n'),
      );
    });
  deid
    .command('csv <in> <out>')
    .description('de-identify a CSV by a per-column config, enforcing k-anonymity over quasi-identifiers')
    .requiredOption(
      '--rules <file.json>',
      '{"columns": {"<column>": "keep|remove|pseudonymize|year|zip3|age|mask"}, "quasiIdentifiers": [...], "k": 5, "lDiversity": {"sensitive": "...", "l": 2}}',
    )
    .option('--key-file <file>', 'the key for pseudonymize columns (at least 16 secret bytes)')
    .option('--force', 'overwrite outputs that exist')
    .action(async (input: string, output: string, o: CsvFlags) => {
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(o.rules, 'utf8'));
      } catch (err) {
        throw new GalenError('invalid_input', `--rules ${o.rules} is not JSON: ${(err as Error).message}`);
      }
      const config = parseTableDeidConfig(raw);
      const table = parseCsv(await readFile(input));
      const key = o.keyFile ? await readFile(o.keyFile) : undefined;
      const { header, rows, report } = deidentifyTable(table.columns, table.rows, config, key);
      await writeOutput(output, formatCsv(header, rows), o.force === true);
      print(report, global().json, () =>
        [
          `${report.rows} rows written to ${output}${report.suppressedRows ? `, ${report.suppressedRows} suppressed` : ''}`,
          table2(report),
        ].join('\n'),
      );
    });
  return deid;
}

function table2(report: TableDeidReport): string {
  return [
    table(
      ['column', 'rule', 'generalisation'],
      Object.entries(report.columns).map(([c, r]) => [c, r, report.generalisation[c] ?? '']),
    ),
    ...(report.k !== undefined ? [`k-anonymity: every quasi-identifier group has ≥ ${report.k} rows`] : []),
    ...(report.l !== undefined
      ? [`l-diversity: every group has ≥ ${report.l} distinct sensitive values`]
      : []),
    ...Object.entries(report.emptied).map(
      ([column, n]) =>
        `${column}: ${n} value(s) the "${report.columns[column]}" rule could not read were left empty (${report.columns[column] === 'year' ? 'a year is read from a date that starts with 4 digits' : 'an age is a number of years'})`,
    ),
  ].join('\n');
}
