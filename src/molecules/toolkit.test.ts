import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MOLECULE_FEATURES,
  RDKIT_DESCRIPTORS,
  moleculeFeatureNames,
  moleculeFeatureWidth,
  parseMoleculeFeatureOptions,
} from './features.js';
import { MoleculeToolkit } from './toolkit.js';

const kit = new MoleculeToolkit();
afterAll(() => kit.close());

describe('the molecule toolkit (RDKit)', () => {
  it('knows the descriptors of the RDKit it runs', async () => {
    expect(await kit.descriptorNames()).toEqual([...RDKIT_DESCRIPTORS]);
  });

  it('featurises SMILES into named columns, canonicalises them, and lists the invalid ones', async () => {
    const smiles = ['OCC', 'C1CC(', 'c1ccccc1O', '', 'CCO'];
    const f = await kit.featurize(smiles, DEFAULT_MOLECULE_FEATURES);
    const names = moleculeFeatureNames(DEFAULT_MOLECULE_FEATURES);
    expect(f.width).toBe(names.length);
    expect(f.width).toBe(moleculeFeatureWidth(DEFAULT_MOLECULE_FEATURES));
    expect(f.invalid).toEqual([1, 3]);
    expect(f.canonical).toEqual(['CCO', null, 'Oc1ccccc1', null, 'CCO']);
    const row = (i: number) => f.values.subarray(i * f.width, (i + 1) * f.width);
    const at = (i: number, name: string) => row(i)[names.indexOf(name)]!;
    // Ethanol written two ways is the same row.
    expect(Array.from(row(0))).toEqual(Array.from(row(4)));
    expect(at(0, 'NumHeavyAtoms')).toBe(3);
    expect(at(0, 'count_oxygen')).toBe(1);
    expect(at(0, 'count_aliphatic_oh')).toBe(1);
    // Phenol: 6 of 7 heavy atoms aromatic, one phenolic OH, one benzene ring.
    expect(at(2, 'aromatic_proportion')).toBeCloseTo(6 / 7, 6);
    expect(at(2, 'count_phenol')).toBe(1);
    expect(at(2, 'count_benzene')).toBeGreaterThanOrEqual(1);
    expect(at(2, 'CrippenClogP')).toBeGreaterThan(at(0, 'CrippenClogP'));
    const bits = names.flatMap((n, j) => (n.startsWith('ecfp4_') ? [row(2)[j]!] : []));
    expect(bits).toHaveLength(1024);
    expect(bits.every((b) => b === 0 || b === 1)).toBe(true);
    expect(bits.filter((b) => b === 1).length).toBeGreaterThan(3);
    expect(Number.isNaN(row(1)[0]!)).toBe(true);
  });

  it("reduces molecules to their Bemis–Murcko scaffolds, as RDKit's MurckoScaffold does", async () => {
    // Side chains go; a linker or ring C=O stays; an acyclic molecule has the empty scaffold.
    expect(
      await kit.scaffolds([
        'Cc1occc1C(=O)Nc2ccccc2',
        'CCCCO',
        'c1ccccc1CCc1ccncc1',
        'CC(=O)Oc1ccccc1C(=O)O',
        'CC1CCCCC1=O',
        'C1CC(',
      ]),
    ).toEqual(['O=C(Nc1ccccc1)c1ccoc1', '', 'c1ccc(CCc2ccncc2)cc1', 'c1ccccc1', 'O=C1CCCCC1', null]);
  });

  it('refuses feature options it cannot compute, naming what it can', () => {
    expect(() => parseMoleculeFeatureOptions({ descriptors: ['MolLogP'] }, 'the step')).toThrow(
      /the step: RDKit does not compute "MolLogP"; it computes exactmw, amw/,
    );
    expect(() => parseMoleculeFeatureOptions({ morgan: { radius: 9, bits: 1024 } }, 'x')).toThrow(
      /"morgan" is/,
    );
    expect(() => parseMoleculeFeatureOptions({}, 'x')).toThrow(/it selects no features/);
    expect(() => parseMoleculeFeatureOptions({ maccs: 'yes' }, 'x')).toThrow(/"maccs" is true or false/);
  });
});
