/**
 * Runs a Markdown guide the way a reader does: every ```sh block in order, in one bash session
 * started in the repository folder, against a running `galen serve --demo`. The only changes made
 * to the text are the addresses and the data folder: `localhost:8080`/`127.0.0.1:8080` become the
 * test server's HTTP address, `…:8081` its gRPC address, and `.galen/` its data folder.
 *
 * Conventions in the guides:
 * - A ```json or ```text block right after a ```sh block is that block's shown output, and is
 *   checked: JSON to the decimals shown, text line by line with `…` matching anything.
 * - `<!-- guide: skip — reason -->` on the line before a fence leaves that block out (installing,
 *   starting the server, clients that are not installed here).
 * - `<!-- guide: needs pytorch -->` anywhere marks a guide that trains with PyTorch.
 */

export interface GuideBlock {
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  readonly skip: boolean;
}

export interface GuideStep {
  readonly block: GuideBlock;
  /** The output block shown right after it, if any. */
  readonly shown?: GuideBlock;
}

const FENCE = /^```(\w*)\s*$/;
const SKIP = /^<!--\s*guide:\s*skip\b/;

/** The fenced blocks of a Markdown text, in order. */
export function parseBlocks(markdown: string): GuideBlock[] {
  const lines = markdown.split('\n');
  const blocks: GuideBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`line ${start + 1}: a code block that never closes`);
    let before = start - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    blocks.push({
      line: start + 1,
      lang: open[1] ?? '',
      code: body.join('\n'),
      skip: before >= 0 && SKIP.test(lines[before]!.trim()),
    });
  }
  return blocks;
}

/** The shell blocks to run, each with the output block shown after it. */
export function guideSteps(markdown: string): GuideStep[] {
  const blocks = parseBlocks(markdown);
  const steps: GuideStep[] = [];
  blocks.forEach((block, i) => {
    if (block.lang !== 'sh' || block.skip) return;
    const next = blocks[i + 1];
    const shown = next && (next.lang === 'json' || next.lang === 'text') && !next.skip ? next : undefined;
    steps.push(shown ? { block, shown } : { block });
  });
  return steps;
}

export interface Addresses {
  readonly http: string; // host:port
  readonly grpc: string; // host:port
  readonly dataDir: string;
}

/** The guide's text with the documented addresses and data folder replaced by the test server's. */
export function localise(code: string, at: Addresses): string {
  return code
    .replace(/\b(?:localhost|127\.0\.0\.1):8080\b/g, at.http)
    .replace(/\b(?:localhost|127\.0\.0\.1):8081\b/g, at.grpc)
    .replace(/(^|[\s"'=(])\.galen\//g, `$1${at.dataDir}/`);
}

/** Marks the start of step `i` in the script's standard output. */
export const stepMarker = (i: number): string => `@@galen-guide-step ${i}@@`;

/** One bash script running every step, printing a marker before each. */
export function guideScript(steps: readonly GuideStep[], at: Addresses): string {
  const parts = ['set -euo pipefail'];
  steps.forEach((step, i) => {
    parts.push(`printf '\\n%s\\n' '${stepMarker(i)}'`, localise(step.block.code, at));
  });
  return parts.join('\n') + '\n';
}

/** Splits the script's standard output into each step's output. */
export function splitOutput(stdout: string, count: number): string[] {
  const outputs: string[] = [];
  for (let i = 0; i < count; i++) {
    const start = stdout.indexOf(`${stepMarker(i)}\n`);
    if (start < 0) break;
    const from = start + stepMarker(i).length + 1;
    const end = stdout.indexOf(`\n${stepMarker(i + 1)}\n`, from);
    outputs.push(stdout.slice(from, end < 0 ? undefined : end));
  }
  return outputs;
}

/** How many decimals a number is written with in `text` (JSON.stringify loses trailing zeros). */
function decimalsOf(value: number): number {
  const text = String(value);
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/**
 * Differences between a shown JSON value and the actual one: numbers equal when rounded to the
 * decimals shown, the same keys in objects, the same lengths in arrays.
 */
export function jsonDifferences(shown: unknown, actual: unknown, path = '$'): string[] {
  if (typeof shown === 'number') {
    if (typeof actual !== 'number') return [`${path}: shown ${shown}, got ${JSON.stringify(actual)}`];
    const tolerance = 0.5 * 10 ** -decimalsOf(shown) + 1e-12;
    return Math.abs(actual - shown) <= tolerance ? [] : [`${path}: shown ${shown}, got ${actual}`];
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${path}: shown an array, got ${JSON.stringify(actual)}`];
    if (actual.length !== shown.length) return [`${path}: shown ${shown.length} items, got ${actual.length}`];
    return shown.flatMap((item, i) => jsonDifferences(item, actual[i], `${path}[${i}]`));
  }
  if (shown !== null && typeof shown === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return [`${path}: shown an object, got ${JSON.stringify(actual)}`];
    const a = actual as Record<string, unknown>;
    const s = shown as Record<string, unknown>;
    const keys = new Set([...Object.keys(s), ...Object.keys(a)]);
    return [...keys].flatMap((key) =>
      !(key in s)
        ? [`${path}.${key}: not shown`]
        : !(key in a)
          ? [`${path}.${key}: shown, missing`]
          : jsonDifferences(s[key], a[key], `${path}.${key}`),
    );
  }
  return shown === actual ? [] : [`${path}: shown ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`];
}

/** Differences between shown text (`…` matches anything within a line) and the actual output. */
export function textDifferences(shown: string, actual: string): string[] {
  const want = shown.trimEnd().split('\n');
  const got = actual.trimEnd().split('\n');
  const problems: string[] = [];
  if (want.length !== got.length) problems.push(`shown ${want.length} lines, got ${got.length}`);
  want.forEach((line, i) => {
    const pattern = new RegExp(
      `^${line
        .trimEnd()
        .split('…')
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    const actualLine = (got[i] ?? '').trimEnd();
    if (!pattern.test(actualLine)) problems.push(`line ${i + 1}: shown "${line}", got "${actualLine}"`);
  });
  return problems;
}

/** Differences between a step's shown output and what it printed. */
export function outputDifferences(shown: GuideBlock, actual: string): string[] {
  if (shown.lang === 'text') return textDifferences(shown.code, actual);
  let value: unknown;
  try {
    value = JSON.parse(actual);
  } catch {
    return [`printed no JSON: ${actual.slice(0, 200)}`];
  }
  return jsonDifferences(JSON.parse(shown.code), value);
}
