/**
 * Sequence models end to end through the real server: beats of MIT-BIH record 100 (read by
 * Galen's WFDB reader, windowed around each annotated beat) uploaded as a sequence dataset, a tiny
 * GRU trained for one epoch on a subset by the PyTorch backend in a job, its ONNX checked against
 * PyTorch (|diff| ≤ 1e-4), registered and served over OIP — with padding masked: a short sequence
 * scores the same alone as zero-padded beside a longer one.
 *
 * Needs the PyTorch backend: without it these tests are skipped (the run ends by listing them),
 * unless GALEN_REQUIRE_PYTORCH=1 (CI sets it).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { mimicHistories } from '../../src/ehr/index.js';
import {
  beatWindows,
  parseWfdbAnnotations,
  parseWfdbHeader,
  readWfdbSignals,
} from '../../src/signals/index.js';
import { createTestServer, maxAbsDiff } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { itWithPyTorch, pytorchForTests, waitForJob } from '../helpers/pytorch.js';
import { pytorchReference } from '../helpers/pytorch-reference.js';
import type { PyTorchReference, ReferenceInput } from '../helpers/pytorch-reference.js';
import { dataUrl } from '../helpers/data.js';

const SIGNALS = dataUrl('signals/');
const EHR = dataUrl('ehr/');
const pytorch = await pytorchForTests();

describe('deep sequence models (PyTorch backend)', () => {
  let server: TestServer;
  let beats: { label: string; steps: number[][]; features: number[] }[];
  let reference: PyTorchReference | undefined;
  beforeAll(async () => {
    reference = pytorch.available ? await pytorchReference() : undefined;
    server = await createTestServer({
      config: { jobs: { concurrency: 1, maxAttempts: 3, ...(reference && { python: reference.python }) } },
    });
    const header = parseWfdbHeader(await readFile(new URL('mitbih_100.hea', SIGNALS), 'utf8'));
    const signals = readWfdbSignals(header, await readFile(new URL('mitbih_100.dat', SIGNALS)));
    const annotations = parseWfdbAnnotations(await readFile(new URL('mitbih_100.atr', SIGNALS)));
    const windows = beatWindows(header, signals, annotations);
    expect(windows.counts).toEqual({ N: 2237, S: 33 });
    beats = windows.lines.map((l) => JSON.parse(l));
    const res = await server.call('POST', '/api/v1/datasets/ecg100', {
      body: Buffer.from(windows.lines.join('\n')),
      contentType: 'application/x-ndjson',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      format: 'sequences',
      rows: 2270,
      schema: {
        kind: 'sequences',
        stepFeatures: 2,
        minLength: 252,
        maxLength: 252,
        labels: { N: 2237, S: 33 },
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await reference?.close();
  });

  /** The first beats, each cut to the length given. */
  const beatsOfLengths = (lengths: readonly number[]) =>
    lengths.map((n, i) => ({ steps: beats[i]!.steps.slice(0, n), features: beats[i]!.features }));

  /** Histories of different lengths, zero-padded to the longest: the three inputs of a sequence model. */
  function sequenceInputs(
    rows: readonly { steps: number[][]; features: number[] }[],
  ): (ReferenceInput & { name: string })[] {
    const longest = Math.max(...rows.map((r) => r.steps.length));
    const width = rows[0]!.steps[0]!.length;
    const padded = rows.map((r) => [
      ...r.steps,
      ...Array.from({ length: longest - r.steps.length }, () => new Array<number>(width).fill(0)),
    ]);
    return [
      { name: 'sequence', datatype: 'FP32', shape: [rows.length, longest, width], data: padded.flat(2) },
      {
        name: 'sequence_lengths',
        datatype: 'INT64',
        shape: [rows.length],
        data: rows.map((r) => r.steps.length),
      },
      {
        name: 'features',
        datatype: 'FP32',
        shape: [rows.length, rows[0]!.features.length],
        data: rows.flatMap((r) => r.features),
      },
    ];
  }

  /**
   * Independently of the job's own parity figure: PyTorch, from the weights the trainer exported,
   * on `rows`, against what the registered version serves for them.
   */
  async function expectServedAsPyTorch(
    model: string,
    rows: readonly { steps: number[][]; features: number[] }[],
  ): Promise<void> {
    const saved = await reference!.takeExport();
    const inputs = sequenceInputs(rows);
    const served = await server.call('POST', `/v2/models/${model}/infer`, { body: { inputs } });
    expect(served.status, JSON.stringify(served.body)).toBe(200);
    const ours: number[] = served.body.outputs.find((o: any) => o.name === 'probabilities').data;
    const theirs = await reference!.outputs(saved, inputs);
    expect(ours).toHaveLength(rows.length * 2);
    expect(theirs).toHaveLength(rows.length * 2);
    expect(maxAbsDiff(ours, theirs)).toBeLessThanOrEqual(1e-4);
  }

  itWithPyTorch(
    pytorch,
    'trains a tiny GRU for one epoch whose ONNX matches PyTorch, and masks padding when served',
    async () => {
      const submitted = await server.call('POST', '/api/v1/jobs', {
        body: {
          model: 'ecg-gru',
          dataset: 'ecg100',
          modelKind: 'gru',
          deep: {
            epochs: 1,
            maxTrainSamples: 300,
            batchSize: 32,
            network: { hidden: 8 },
            classWeight: 'balanced',
          },
        },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const job = await waitForJob(server, submitted.body.id);
      expect(job.error).toBeNull();
      expect(job.state).toBe('succeeded');

      const version = (await server.call('GET', '/api/v1/models/ecg-gru/versions/1')).body;
      expect(version.metrics.parityMaxAbsDiff).toBeLessThanOrEqual(1e-4);
      await expectServedAsPyTorch('ecg-gru', beatsOfLengths([252, 200, 128, 64]));
      expect(version.metrics.test.n).toBe(454); // a stratified 20% of 2,270 beats
      expect(version.lineage.parameters).toMatchObject({
        model: 'gru',
        trainRows: 300,
        stepFeatures: 2,
        maxLength: 252,
      });
      const meta = (await server.call('GET', '/v2/models/ecg-gru')).body;
      expect(meta.inputs.map((i: any) => [i.name, i.datatype, i.shape])).toEqual([
        ['sequence', 'FP32', [-1, -1, 2]],
        ['sequence_lengths', 'INT64', [-1]],
        ['features', 'FP32', [-1, 3]], // RR intervals
      ]);

      const short = beats[0]!.steps.slice(0, 200);
      const infer = (steps: number[][][], lengths: number[], features: number[][]) =>
        server.call('POST', '/v2/models/ecg-gru/infer', {
          body: {
            inputs: [
              {
                name: 'sequence',
                datatype: 'FP32',
                shape: [steps.length, steps[0]!.length, 2],
                data: steps.flat(2),
              },
              { name: 'sequence_lengths', datatype: 'INT64', shape: [lengths.length], data: lengths },
              { name: 'features', datatype: 'FP32', shape: [features.length, 3], data: features.flat() },
            ],
          },
        });
      const alone = await infer([short], [200], [beats[0]!.features]);
      expect(alone.status, JSON.stringify(alone.body)).toBe(200);
      const padded = [...short, ...Array.from({ length: 52 }, () => [0, 0])];
      const together = await infer(
        [padded, beats[1]!.steps],
        [200, 252],
        [beats[0]!.features, beats[1]!.features],
      );
      expect(together.status, JSON.stringify(together.body)).toBe(200);
      const p = (r: any) => r.body.outputs.find((o: any) => o.name === 'probabilities').data;
      expect(Math.abs(p(alone)[1] - p(together)[1])).toBeLessThan(1e-5);
      expect(together.body.outputs.find((o: any) => o.name === 'label').data).toHaveLength(2);
    },
    600_000,
  );

  for (const modelKind of ['lstm', 'transformer'] as const) {
    itWithPyTorch(
      pytorch,
      `trains a tiny ${modelKind} for one epoch whose ONNX matches PyTorch`,
      async () => {
        const submitted = await server.call('POST', '/api/v1/jobs', {
          body: {
            model: `ecg-${modelKind}`,
            dataset: 'ecg100',
            modelKind,
            deep: {
              epochs: 1,
              maxTrainSamples: 200,
              batchSize: 32,
              maxLength: 128,
              network: { hidden: 8, heads: 2 },
            },
          },
        });
        expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
        const job = await waitForJob(server, submitted.body.id);
        expect(job.error).toBeNull();
        const version = (await server.call('GET', `/api/v1/models/ecg-${modelKind}/versions/1`)).body;
        expect(version.metrics.parityMaxAbsDiff).toBeLessThanOrEqual(1e-4);
        expect(version.lineage.parameters.maxLength).toBe(128);
        await expectServedAsPyTorch(`ecg-${modelKind}`, beatsOfLengths([128, 100, 128, 64]));
      },
      600_000,
    );
  }

  itWithPyTorch(
    pytorch,
    'trains a multimodal model (a history of diagnosis codes and static features) on MIMIC-III, split by patient',
    async () => {
      const read = (table: string) => readFile(new URL(`mimic3_demo_${table}.csv`, EHR));
      const histories = mimicHistories(
        {
          admissions: await read('ADMISSIONS'),
          patients: await read('PATIENTS'),
          diagnoses: await read('DIAGNOSES_ICD'),
        },
        { target: 'death' },
      );
      const uploaded = await server.call('POST', '/api/v1/datasets/mimic-death', {
        body: Buffer.from(histories.lines.join('\n')),
        contentType: 'application/x-ndjson',
      });
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
      expect(uploaded.body.schema).toMatchObject({
        stepFeatures: 22,
        staticFeatures: 4,
        labels: { died: 40, survived: 89 },
      });
      const submitted = await server.call('POST', '/api/v1/jobs', {
        body: {
          model: 'mimic-death',
          dataset: 'mimic-death',
          modelKind: 'gru',
          positive: 'died',
          deep: { epochs: 1, batchSize: 16, network: { hidden: 8 } },
        },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const job = await waitForJob(server, submitted.body.id);
      expect(job.error).toBeNull();
      const version = (await server.call('GET', '/api/v1/models/mimic-death/versions/1')).body;
      expect(version.metrics.parityMaxAbsDiff).toBeLessThanOrEqual(1e-4);
      expect(version.metrics.test.n).toBe(histories.splits['test']);
      expect(version.metrics.evaluatedOn).toMatch(/^the data's own test split/);
      expect(version.lineage.parameters.classes).toEqual(['survived', 'died']);
      const meta = (await server.call('GET', '/v2/models/mimic-death')).body;
      expect(meta.inputs.map((i: any) => i.name)).toEqual(['sequence', 'sequence_lengths', 'features']);

      const first = JSON.parse(histories.lines[0]!) as { steps: number[][]; features: number[] };
      const answer = await server.call('POST', '/v2/models/mimic-death/infer', {
        body: {
          inputs: [
            {
              name: 'sequence',
              datatype: 'FP32',
              shape: [1, first.steps.length, 22],
              data: first.steps.flat(),
            },
            { name: 'sequence_lengths', datatype: 'INT64', shape: [1], data: [first.steps.length] },
            { name: 'features', datatype: 'FP32', shape: [1, 4], data: first.features },
          ],
        },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(['died', 'survived']).toContain(
        answer.body.outputs.find((o: any) => o.name === 'label').data[0],
      );
      await expectServedAsPyTorch(
        'mimic-death',
        histories.lines.slice(0, 4).map((l) => JSON.parse(l) as { steps: number[][]; features: number[] }),
      );
    },
    600_000,
  );
});
