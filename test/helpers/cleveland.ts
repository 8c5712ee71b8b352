import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { waitForJob } from './pytorch.js';
import type { TestServer } from './test-server.js';
import { dataUrl } from './data.js';

/** The UCI Cleveland heart-disease data in data/clinical: its file and its 13 input columns, in order. */
export const CLEVELAND_CSV = dataUrl('clinical/heart_cleveland.csv');

export const CLEVELAND_INPUTS = [
  'age',
  'sex',
  'cp',
  'trestbps',
  'chol',
  'fbs',
  'restecg',
  'thalach',
  'exang',
  'oldpeak',
  'slope',
  'ca',
  'thal',
] as const;

/** One row of the 13 inputs as OIP JSON inputs, FP32 [n, 1] each (null = missing). */
export function clevelandInputs(rows: readonly (readonly (number | null)[])[]) {
  return CLEVELAND_INPUTS.map((name, j) => ({
    name,
    datatype: 'FP32',
    shape: [rows.length, 1],
    data: rows.map((r) => r[j] ?? null),
  }));
}

/** Uploads the Cleveland CSV as dataset `heart` (checked) and returns its text. */
export async function uploadHeart(server: TestServer): Promise<string> {
  const csv = await readFile(CLEVELAND_CSV, 'utf8');
  const res = await server.call('POST', '/api/v1/datasets/heart', { body: csv, contentType: 'text/csv' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return csv;
}

/** Trains `model` on dataset `heart` to predict "num > 0" through a job, and checks it succeeded. */
export async function trainHeart(server: TestServer, model: string, modelKind = 'logistic'): Promise<void> {
  const job = await server.call('POST', '/api/v1/jobs', {
    body: { model, dataset: 'heart', target: 'num > 0', modelKind },
  });
  expect((await waitForJob(server, job.body.id)).state).toBe('succeeded');
}
