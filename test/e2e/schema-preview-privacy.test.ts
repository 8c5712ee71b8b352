/**
 * The schema preview answers with column summaries, never rows: a `data:read` key that asks for
 * a column of names or record numbers as categories, or for one as numbers, learns what was wrong
 * and what is allowed, and no cell of the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const PATIENTS = 120;
const nameOf = (i: number): string => `Patient Surname${String(i).padStart(3, '0')}`;
const mrnOf = (i: number): string => `MRN-${String(904100 + i)}`;

/** 240 rows: two visits per patient (so the record number repeats), a name, a lab value, a stray cell. */
function csv(): Buffer {
  const lines = ['mrn,name,ward,lab,outcome'];
  for (let r = 0; r < 2 * PATIENTS; r++) {
    const p = r % PATIENTS;
    const lab = r === 7 ? 'Surname-in-a-lab-cell' : String((r % 17) + 0.5);
    lines.push(`${mrnOf(p)},${nameOf(r)},${['A', 'B', 'C'][r % 3]},${lab},${r % 2 === 0 ? 'yes' : 'no'}`);
  }
  return Buffer.from(lines.join('\n'));
}

/** Whether any cell of the patient columns (or the stray lab cell) appears in `text`. */
function leaks(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < 2 * PATIENTS; i++) {
    if (text.includes(nameOf(i))) found.push(nameOf(i));
    if (i < PATIENTS && text.includes(mrnOf(i))) found.push(mrnOf(i));
  }
  if (text.includes('Surname-in-a-lab-cell')) found.push('Surname-in-a-lab-cell');
  return found;
}

describe('schema preview: no rows through categories or errors', () => {
  let server: TestServer;
  let reader: string;
  let uploaded: unknown;
  beforeAll(async () => {
    server = await createTestServer();
    const res = await server.call('POST', '/api/v1/datasets/visits?target=outcome', {
      body: csv(),
      contentType: 'text/csv',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    uploaded = res.body;
    reader = await server.key('developer');
  });
  afterAll(async () => server.close());

  const preview = (overrides: unknown) =>
    server.call('POST', '/api/v1/datasets/visits/versions/1/schema', {
      key: reader,
      body: { target: 'outcome', overrides },
    });

  it('the stored schema shown to every data:read key holds no row: a stray cell is not a category', () => {
    expect(leaks(JSON.stringify(uploaded))).toEqual([]);
    const lab = (
      uploaded as { schema: { columns: { name: string; warning?: string }[] } }
    ).schema.columns.find((c) => c.name === 'lab');
    expect(lab).toMatchObject({ kind: 'text', role: 'ignored', mostlyNumbers: true });
    expect(lab?.warning).toMatch(/^mostly numbers, but row 8 \(line 9\) is not a number/);
  });

  it('refuses names (every value different) as categories, saying why, listing none', async () => {
    for (const kind of ['categorical', 'ordinal']) {
      const res = await preview({ name: { kind } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_input');
      expect(res.body.error).toMatch(/column "name".*every value is different.*identifier/);
      expect(leaks(JSON.stringify(res.body))).toEqual([]);
    }
  });

  it('refuses a column with more different values than the cap as categorical', async () => {
    const res = await preview({ mrn: { kind: 'categorical' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(
      /column "mrn" has 120 different values; a categorical column may have at most 50/,
    );
    expect(leaks(JSON.stringify(res.body))).toEqual([]);
  });

  it('a numeric override names the row and what is allowed, never the cell', async () => {
    for (const column of ['name', 'lab']) {
      const res = await preview({ [column]: { kind: 'numeric' } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(
        new RegExp(`column "${column}" is set to numeric but row \\d+ \\(line \\d+\\) is not a number`),
      );
      expect(leaks(JSON.stringify(res.body))).toEqual([]);
    }
  });

  it('categories that leave values out, or a binary override, say how many, not which', async () => {
    const missing = await preview({ mrn: { categories: ['MRN-0'] } });
    expect(missing.status).toBe(400);
    expect(leaks(JSON.stringify(missing.body))).toEqual([]);
    const binary = await preview({ mrn: { kind: 'binary' } });
    expect(binary.status).toBe(400);
    expect(binary.body.error).toMatch(/has 120 different values; a binary column has exactly two/);
    expect(leaks(JSON.stringify(binary.body))).toEqual([]);
  });

  it('a usable override still previews, with the categories of a small column', async () => {
    const res = await preview({ ward: { kind: 'categorical' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.columns.find((c: { name: string }) => c.name === 'ward').categories).toEqual([
      'A',
      'B',
      'C',
    ]);
    expect(leaks(JSON.stringify(res.body))).toEqual([]);
  });
});
