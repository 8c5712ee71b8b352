/**
 * The settings reference of docs/guides/configuration.md, generated from the config schema
 * (src/config/config.ts): one row per setting with its environment variable, its key in a config
 * file, its default, the values allowed and its description. test/docs/reference-tables.test.ts
 * checks the guide's table against these rows, so a setting cannot be added, renamed or given a
 * new default without the guide saying so.
 */
import { ConfigSchema, environmentSettings } from '../../src/config/index.js';
import type { EnvKind } from '../../src/config/index.js';

/** The part of a JSON Schema node the reference reads. */
interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  patternProperties?: Record<string, SchemaNode>;
}

export interface SettingRow {
  readonly variable: string;
  readonly setting: string;
  readonly defaultValue: string;
  readonly allowed: string;
  readonly description: string;
}

/** Patterns in the schema, in words. */
const PATTERN_TEXT: Readonly<Record<string, string>> = {
  '^https?://': 'an `http://` or `https://` URL',
  '^https?://[^/]+$': 'scheme and host, no path (`https://galen.example.org`)',
  '^P(\\d+D)?(T(\\d+H)?(\\d+M)?)?$': 'ISO 8601 duration in days, hours, minutes (`P1D`, `PT6H`, `PT30M`)',
  '^postgres(ql)?://': 'a `postgres://` or `postgresql://` URL',
  '^s3://': '`s3://bucket` or `s3://bucket/prefix`',
};

const KIB = 1024;
const UNITS: readonly [number, string][] = [
  [KIB ** 3, 'GiB'],
  [KIB ** 2, 'MiB'],
];

function numberText(n: number, setting: string): string {
  const plain = `\`${n}\``;
  if (!/Bytes$|Size$/.test(setting)) return plain;
  const unit = UNITS.find(([size]) => n >= size && n % size === 0);
  return unit ? `${plain} (${n / unit[0]} ${unit[1]})` : plain;
}

function rangeText(node: SchemaNode, noun: string): string {
  const { minimum: min, maximum: max, exclusiveMinimum: above } = node;
  if (above !== undefined) return max === undefined ? `${noun} > ${above}` : `${noun} > ${above}, ≤ ${max}`;
  if (min !== undefined && max !== undefined) return `${noun} ${min}–${max}`;
  if (min !== undefined) return `${noun} ≥ ${min}`;
  return noun;
}

function allowedText(node: SchemaNode, kind: EnvKind): string {
  if (node.anyOf) return node.anyOf.map((branch) => `\`${String(branch.const)}\``).join(', ');
  switch (node.type ?? 'untyped') {
    case 'boolean':
      return '`true`, `false` (or `1`, `0`)';
    case 'integer':
      return rangeText(node, 'integer');
    case 'number':
      return rangeText(node, 'number');
    case 'string': {
      if (node.pattern !== undefined) return PATTERN_TEXT[node.pattern] ?? `matches \`${node.pattern}\``;
      if (node.minLength !== undefined && node.minLength > 1) return `text, ≥ ${node.minLength} characters`;
      return 'text';
    }
    case 'array': {
      if (kind === 'json') return 'JSON array (see below)';
      const item = node.items?.type === 'integer' ? 'integers' : 'texts';
      return `list of ${item} (variable: comma-separated)`;
    }
    case 'object':
      return 'JSON object';
    default:
      throw new Error(`no allowed-values text for schema type ${String(node.type)}`);
  }
}

function defaultText(node: SchemaNode, setting: string): string {
  const value = node.default;
  if (value === undefined) return 'unset';
  if (typeof value === 'number') return numberText(value, setting);
  if (Array.isArray(value) && value.length === 0) return 'none';
  return `\`${JSON.stringify(value).replace(/^"|"$/g, '')}\``;
}

/** Every leaf setting of the schema (a nested object is a section, anything else a setting). */
function leaves(node: SchemaNode, path: string[] = []): { setting: string; node: SchemaNode }[] {
  const properties = node.properties;
  if (node.type !== 'object' || properties === undefined || Object.keys(properties).length === 0)
    return [{ setting: path.join('.'), node }];
  return Object.entries(properties).flatMap(([key, child]) => leaves(child, [...path, key]));
}

/** One row per setting, in the order of the schema. */
export function settingRows(): SettingRow[] {
  const byVariable = new Map(environmentSettings().map((e) => [e.setting, e]));
  // The schema as the JSON Schema it is (TypeBox's types say more than this reader needs).
  const schema = JSON.parse(JSON.stringify(ConfigSchema)) as SchemaNode;
  return leaves(schema).map(({ setting, node }) => {
    const env = byVariable.get(setting);
    if (!env) throw new Error(`setting ${setting} has no GALEN_* environment variable`);
    return {
      variable: `\`${env.name}\``,
      setting: `\`${setting}\``,
      defaultValue: defaultText(node, setting),
      allowed: allowedText(node, env.kind),
      description: (node.description ?? '').replaceAll('|', '\\|'),
    };
  });
}

export const SETTINGS_TABLE_HEADER = [
  'variable',
  'setting (config file)',
  'default',
  'allowed',
  'description',
];

/** The rows as a Markdown table (Prettier will align it). */
export function settingsTable(rows: readonly SettingRow[] = settingRows()): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [
    line(SETTINGS_TABLE_HEADER),
    line(SETTINGS_TABLE_HEADER.map(() => '---')),
    ...rows.map((r) => line([r.variable, r.setting, r.defaultValue, r.allowed, r.description])),
  ].join('\n');
}

/** The cells of each row of the first Markdown table after `marker` in `markdown`, trimmed. */
export function tableAfter(markdown: string, marker: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.includes(marker));
  if (start < 0) throw new Error(`no "${marker}" in the document`);
  const rows: string[][] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    const cells = l
      .slice(1, l.trimEnd().length - 1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    rows.push(cells);
  }
  return rows;
}
