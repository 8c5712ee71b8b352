/**
 * The module layer table lives in code (eslint/layers.json, enforced by eslint.config.js) and in
 * docs/architecture.md ("Modules"); this test keeps them the same, and checks the lint rule
 * refuses exactly the imports the table does not allow.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

interface Layer {
  readonly folder: string;
  readonly mayImport: readonly string[] | 'everything above';
}

const { layers } = JSON.parse(readFileSync(join(ROOT, 'eslint/layers.json'), 'utf8')) as {
  layers: Layer[];
};

/** The rows of the "Modules" table: each folder of the first cell with the "may import" cell. */
function documentedLayers(): Layer[] {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Modules\n'));
  if (!section) throw new Error('docs/architecture.md has no "## Modules" section');
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  return rows.flatMap((row) => {
    const cells = row.split(/(?<!\\)\|/).map((c) => c.trim());
    const folders = [...cells[1]!.matchAll(/`([a-z-]+)\/`/g)].map((m) => m[1]!);
    const said = cells[3]!;
    const mayImport =
      said === 'everything above'
        ? ('everything above' as const)
        : said === 'nothing of ours'
          ? []
          : said.split(',').map((f) => f.trim());
    return folders.map((folder) => ({ folder, mayImport }));
  });
}

/** The folders `folder` may import: its list, or every folder listed before it. */
function allowed(folder: string): string[] {
  const at = layers.findIndex((l) => l.folder === folder);
  const said = layers[at]!.mayImport;
  return said === 'everything above' ? layers.slice(0, at).map((l) => l.folder) : [...said];
}

describe('module layers', () => {
  it("docs/architecture.md's Modules table says what eslint/layers.json says, row by row", () => {
    expect(documentedLayers()).toEqual(layers);
  });

  it('lists every folder of src/ (types/ holds declarations only), and only those', () => {
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'types')
      .map((e) => e.name)
      .sort();
    expect(layers.map((l) => l.folder).sort()).toEqual(folders);
  });

  it('allows only folders it lists, and no folder itself', () => {
    const names = new Set(layers.map((l) => l.folder));
    for (const { folder } of layers) {
      expect(
        allowed(folder).filter((f) => !names.has(f) || f === folder),
        folder,
      ).toEqual([]);
    }
  });

  it('is what ESLint enforces: each folder is refused exactly the folders it may not import', async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const names = layers.map((l) => l.folder);
    for (const { folder } of layers) {
      for (const [file, up] of [
        [`src/${folder}/any.ts`, '../'],
        [`src/${folder}/nested/any.ts`, '../../'],
      ] as const) {
        const config = (await eslint.calculateConfigForFile(join(ROOT, file))) as {
          rules: Record<string, [unknown, { patterns?: { regex: string }[] }?]>;
        };
        const patterns = config.rules['no-restricted-imports']?.[1]?.patterns ?? [];
        const refused = names.filter((f) =>
          patterns.some((p) => new RegExp(p.regex).test(`${up}${f}/index.js`)),
        );
        const expected = names.filter((f) => f !== folder && !allowed(folder).includes(f));
        expect(refused, `${file} is refused`).toEqual(expected);
        // An import within the folder itself is never refused.
        expect(patterns.some((p) => new RegExp(p.regex).test(`./${folder}.js`))).toBe(false);
      }
    }
  });
});
