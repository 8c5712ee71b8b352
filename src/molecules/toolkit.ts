/**
 * Molecules for models: SMILES parsed, featurised (RDKit descriptors and Morgan fingerprint bits)
 * and reduced to Bemis–Murcko scaffolds on RDKit threads (`rdkit-thread.ts`), so the serving
 * thread never waits on RDKit. One toolkit per process.
 */
import { createRequire } from 'node:module';
import { GalenError, ThreadPool } from '../core/index.js';
import { moleculeMain } from './rdkit-thread.js';
import type { FeaturizeResult, MoleculeTask } from './rdkit-thread.js';
import { COUNT_PATTERNS, moleculeFeatureWidth } from './features.js';
import type { MoleculeFeatureOptions } from './features.js';

/** Molecules per task: a task is a few hundred milliseconds at most. */
const CHUNK = 250;
/** A chunk takes well under a second; one that takes a minute is stuck on a pathological molecule. */
const DEADLINE_MS = 60_000;
const OVERRUN =
  'RDKit took over a minute on 250 molecules and was stopped; look for an unusually large molecule';

export interface MoleculeToolkitOptions {
  threads?: number | undefined;
  maxQueued?: number | undefined;
}

export class MoleculeToolkit {
  private readonly pool: ThreadPool;
  private names: Promise<string[]> | undefined;

  constructor(options: MoleculeToolkitOptions = {}) {
    this.pool = new ThreadPool({
      what: 'the molecule toolkit (RDKit)',
      source: `(${moleculeMain.toString()})(require)`,
      workerData: { rdkitPath: createRequire(import.meta.url).resolve('@rdkit/rdkit') },
      threads: options.threads,
      maxQueued: options.maxQueued ?? 64,
      taskName: 'batch',
    });
  }

  /** The descriptors RDKit computes, by name. */
  descriptorNames(): Promise<string[]> {
    return (this.names ??= this.pool.run<string[]>({ op: 'descriptors' } satisfies MoleculeTask));
  }

  /** One float32 row per molecule (see `moleculeFeatureNames`); invalid SMILES are listed, with NaN rows. */
  async featurize(smiles: readonly string[], options: MoleculeFeatureOptions): Promise<FeaturizeResult> {
    const width = moleculeFeatureWidth(options);
    const patterns = Object.values(COUNT_PATTERNS);
    const values = new Float32Array(smiles.length * width);
    const canonical: (string | null)[] = [];
    const invalid: number[] = [];
    for (let start = 0; start < smiles.length; start += CHUNK) {
      const part = await this.pool.run<FeaturizeResult>(
        {
          op: 'featurize',
          smiles: smiles.slice(start, start + CHUNK),
          options,
          patterns,
        } satisfies MoleculeTask,
        { deadlineMs: DEADLINE_MS, overrun: OVERRUN },
      );
      if (part.width !== width)
        throw new GalenError('internal', `RDKit gave ${part.width} features; ${width} were expected`);
      values.set(part.values, start * width);
      canonical.push(...part.canonical);
      invalid.push(...part.invalid.map((i) => i + start));
    }
    return { values, width, canonical, invalid };
  }

  /** Each molecule's Bemis–Murcko scaffold as canonical SMILES ("" when acyclic, null when invalid). */
  async scaffolds(smiles: readonly string[]): Promise<(string | null)[]> {
    const out: (string | null)[] = [];
    for (let start = 0; start < smiles.length; start += CHUNK) {
      out.push(
        ...(await this.pool.run<(string | null)[]>(
          { op: 'scaffold', smiles: smiles.slice(start, start + CHUNK) } satisfies MoleculeTask,
          { deadlineMs: DEADLINE_MS, overrun: OVERRUN },
        )),
      );
    }
    return out;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
