/**
 * The code of an RDKit thread (RDKit's MinimalLib compiled to WebAssembly; the only user of
 * `@rdkit/rdkit`). Parsing a SMILES and computing its descriptors and fingerprint take about a
 * millisecond of synchronous work, so they run here rather than on the serving thread.
 *
 * Tasks:
 * - `featurize`: canonical SMILES, the chosen RDKit descriptors, and Morgan (ECFP-like) fingerprint
 *   bits, as one float32 row per molecule; molecules that do not parse are listed, not featurised;
 * - `scaffold`: each molecule's Bemis–Murcko framework (ring systems and the linkers between them)
 *   as canonical SMILES, "" for an acyclic molecule;
 * - `descriptors`: the names of the descriptors RDKit computes.
 *
 * Self-contained (see `ThreadPool`): it uses nothing from its surroundings, only `require`.
 */

import type { MoleculeFeatureOptions } from './features.js';

export type MoleculeTask =
  | {
      op: 'featurize';
      smiles: string[];
      options: MoleculeFeatureOptions;
      /** SMARTS counted when `options.counts` (the values of COUNT_PATTERNS, in order). */
      patterns: string[];
    }
  | { op: 'scaffold'; smiles: string[] }
  | { op: 'descriptors' };

export interface FeaturizeResult {
  /** Row-major, `width` values per molecule (rows of invalid molecules are NaN). */
  values: Float32Array;
  width: number;
  canonical: (string | null)[];
  /** Indices of molecules that are not valid SMILES (or are empty). */
  invalid: number[];
}

/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument,
   @typescript-eslint/no-explicit-any */
/** The thread's main function. `workerData.rdkitPath` is where `@rdkit/rdkit`'s loader is. */
export function moleculeMain(require: (id: string) => any): void {
  const { parentPort, workerData } = require('node:worker_threads');
  let loading: Promise<any> | undefined;
  const rdkit = (): Promise<any> => (loading ??= require(workerData.rdkitPath)());

  /** A parsed molecule, or null when the text is not a molecule. Free it with `delete()`. */
  function parse(RDKit: any, smiles: string): any {
    if (typeof smiles !== 'string' || smiles.trim() === '' || smiles.length > 2000) return null;
    const mol = RDKit.get_mol(smiles);
    if (!mol) return null;
    if (!mol.is_valid() || mol.get_num_atoms() === 0) {
      mol.delete();
      return null;
    }
    return mol;
  }

  const queries = new Map<string, any>();
  const query = (RDKit: any, smarts: string): any => {
    let q = queries.get(smarts);
    if (!q) {
      q = RDKit.get_qmol(smarts);
      if (!q) throw new Error(`SMARTS ${smarts} does not parse`);
      queries.set(smarts, q);
    }
    return q;
  };
  const matches = (mol: any, q: any): number => JSON.parse(mol.get_substruct_matches(q)).length;
  const bitsInto = (values: Float32Array, at: number, bits: string): void => {
    for (let b = 0; b < bits.length; b++) values[at + b] = bits.charCodeAt(b) === 49 ? 1 : 0;
  };

  function featurize(
    RDKit: any,
    smiles: string[],
    options: MoleculeFeatureOptions,
    patterns: string[],
  ): FeaturizeResult {
    const maccsKeys = options.maccs ? 167 : 0;
    const bits = options.morgan?.bits ?? 0;
    const counts = options.counts ? 1 + patterns.length : 0;
    const width = options.descriptors.length + counts + maccsKeys + bits;
    const values = new Float32Array(smiles.length * width).fill(Number.NaN);
    const canonical: (string | null)[] = [];
    const invalid: number[] = [];
    const fpDetails = options.morgan && JSON.stringify({ radius: options.morgan.radius, nBits: bits });
    smiles.forEach((text, i) => {
      const mol = parse(RDKit, text);
      if (!mol) {
        canonical.push(null);
        invalid.push(i);
        return;
      }
      try {
        canonical.push(mol.get_smiles());
        const descriptors = JSON.parse(mol.get_descriptors());
        let at = i * width;
        for (const name of options.descriptors) {
          const v = descriptors[name];
          values[at++] = typeof v === 'number' ? v : Number.NaN;
        }
        if (options.counts) {
          const heavy = descriptors['NumHeavyAtoms'];
          values[at++] = heavy > 0 ? matches(mol, query(RDKit, 'a')) / heavy : 0;
          for (const smarts of patterns) values[at++] = matches(mol, query(RDKit, smarts));
        }
        if (maccsKeys > 0) {
          bitsInto(values, at, mol.get_maccs_fp());
          at += maccsKeys;
        }
        if (fpDetails) bitsInto(values, at, mol.get_morgan_fp(fpDetails));
      } finally {
        mol.delete();
      }
    });
    return { values, width, canonical, invalid };
  }

  /**
   * The Bemis–Murcko framework: atoms left after repeatedly removing atoms with one neighbour or
   * none (side chains), rebuilt as a molecule whose cut atoms take hydrogens for the bonds they
   * lost, and written as canonical SMILES.
   */
  function scaffold(RDKit: any, smiles: string): string | null {
    const mol = parse(RDKit, smiles);
    if (!mol) return null;
    try {
      const json = JSON.parse(mol.get_json());
      const m = json.molecules[0];
      const atoms: any[] = m.atoms;
      const bonds: any[] = m.bonds ?? [];
      const alive = atoms.map(() => true);
      const degree = (a: number): number =>
        bonds.filter(
          (b) => (b.atoms[0] === a && alive[b.atoms[1]]) || (b.atoms[1] === a && alive[b.atoms[0]]),
        ).length;
      for (let changed = true; changed;) {
        changed = false;
        atoms.forEach((_, a) => {
          if (alive[a] && degree(a) <= 1) {
            alive[a] = false;
            changed = true;
          }
        });
      }
      if (!alive.some(Boolean)) return '';
      // As RDKit's MurckoScaffold: atoms double-bonded to the framework (a ring or linker C=O) stay.
      for (const b of bonds) {
        if ((b.bo ?? json.defaults.bond.bo) !== 2) continue;
        const [x, y] = b.atoms;
        if (alive[x] && !alive[y] && bonds.filter((o) => o.atoms.includes(y)).length === 1) alive[y] = true;
        else if (alive[y] && !alive[x] && bonds.filter((o) => o.atoms.includes(x)).length === 1)
          alive[x] = true;
      }
      const index = new Map<number, number>();
      const kept: any[] = [];
      atoms.forEach((atom, a) => {
        if (!alive[a]) return;
        index.set(a, kept.length);
        kept.push({ ...atom });
      });
      const keptBonds: any[] = [];
      for (const b of bonds) {
        const [x, y] = b.atoms;
        const order = b.bo ?? json.defaults.bond.bo;
        if (alive[x] && alive[y]) keptBonds.push({ ...b, atoms: [index.get(x), index.get(y)] });
        else if (alive[x] || alive[y]) {
          const atom = kept[index.get(alive[x] ? x : y)!];
          atom.impHs = (atom.impHs ?? json.defaults.atom.impHs) + order;
        }
      }
      delete m.extensions; // ring and aromaticity annotations of the whole molecule no longer hold
      const framework = RDKit.get_mol(
        JSON.stringify({ ...json, molecules: [{ ...m, atoms: kept, bonds: keptBonds }] }),
      );
      if (!framework) return null;
      try {
        return framework.get_smiles();
      } finally {
        framework.delete();
      }
    } finally {
      mol.delete();
    }
  }

  function descriptorNames(RDKit: any): string[] {
    const mol = RDKit.get_mol('CCO');
    try {
      return Object.keys(JSON.parse(mol.get_descriptors()));
    } finally {
      mol.delete();
    }
  }

  parentPort.on('message', ({ id, task }: { id: number; task: MoleculeTask }) => {
    rdkit()
      .then((RDKit) => {
        const result =
          task.op === 'featurize'
            ? featurize(RDKit, task.smiles, task.options, task.patterns)
            : task.op === 'scaffold'
              ? task.smiles.map((s) => scaffold(RDKit, s))
              : descriptorNames(RDKit);
        parentPort.postMessage({ id, result });
      })
      .catch((err: Error) => parentPort.postMessage({ id, error: err.message }));
  });
}
/* eslint-enable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument,
   @typescript-eslint/no-explicit-any */
