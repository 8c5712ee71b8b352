/**
 * What a molecule's feature row holds, declared by a model (in its preprocessing step) and checked
 * here without RDKit: RDKit descriptors by name, counts of atoms and functional groups (SMARTS,
 * with the aromatic share of heavy atoms, Delaney's "aromatic proportion"), MACCS keys, and Morgan
 * fingerprint bits (radius 2 is ECFP4).
 */
import { GalenError } from '../core/index.js';

/** The descriptors RDKit MinimalLib 2026.09.1 computes (`get_descriptors`), in its order. */
export const RDKIT_DESCRIPTORS = [
  'exactmw', 'amw', 'lipinskiHBA', 'lipinskiHBD', 'NumRotatableBonds', 'NumHBD', 'NumHBA',
  'NumHeavyAtoms', 'NumAtoms', 'NumHeteroatoms', 'NumAmideBonds', 'FractionCSP3', 'NumRings',
  'NumAromaticRings', 'NumAliphaticRings', 'NumSaturatedRings', 'NumHeterocycles',
  'NumAromaticHeterocycles', 'NumSaturatedHeterocycles', 'NumAliphaticHeterocycles',
  'NumSpiroAtoms', 'NumBridgeheadAtoms', 'NumAtomStereoCenters', 'NumUnspecifiedAtomStereoCenters',
  'labuteASA', 'tpsa', 'CrippenClogP', 'CrippenMR', 'chi0v', 'chi1v', 'chi2v', 'chi3v', 'chi4v',
  'chi0n', 'chi1n', 'chi2n', 'chi3n', 'chi4n', 'hallKierAlpha', 'kappa1', 'kappa2', 'kappa3', 'Phi',
] as const; // prettier-ignore

/** Substructures counted by `counts` (name → SMARTS). Changing this list changes what models were trained on: add a new list instead. */
export const COUNT_PATTERNS: Readonly<Record<string, string>> = {
  carbon: '[#6]', nitrogen: '[#7]', oxygen: '[#8]', fluorine: '[#9]', chlorine: '[#17]',
  bromine: '[#35]', iodine: '[#53]', sulfur: '[#16]', phosphorus: '[#15]', heteroatoms: '[!#1;!#6]',
  aromatic_atoms: 'a', aromatic_n: 'n', aromatic_o: 'o', aromatic_s: 's', pyrrole_nh: '[nH]',
  halogens: '[F,Cl,Br,I]', benzene: 'c1ccccc1', ring_fusion_atoms: '[R2]', ring5_atoms: '[r5]',
  ring6_atoms: '[r6]', methyl: '[CH3]', methylene: '[CH2]', methine: '[CX4H1]', quaternary_c: '[CX4H0]',
  alkene: 'C=C', alkyne: 'C#C', nitrile: 'C#N', aliphatic_oh: '[OX2H][CX4]', phenol: '[OX2H]c',
  hydroxyl: '[OH]', carboxylic_acid: '[CX3](=O)[OX2H1]', ester: '[CX3](=O)[OX2][#6]',
  amide: '[CX3](=O)[NX3]', aldehyde: '[CX3H1](=O)', ketone: '[#6][CX3](=O)[#6]', carbonyl: '[OX1]=[#6]',
  ether: '[OD2]([#6])[#6]', primary_amine: '[NX3;H2][#6]', secondary_amine: '[NX3;H1]([#6])[#6]',
  tertiary_amine: '[NX3;H0]([#6])([#6])[#6]', imine: '[NX2]=[#6]', hydrazine: 'N-N', nitro: '[N+](=O)[O-]',
  thioether: '[SX2]', sulfonyl: '[SX4](=O)(=O)', phosphoryl: 'P=O',
}; // prettier-ignore

export interface MoleculeFeatureOptions {
  /** RDKit descriptor names, in the order they fill the row. */
  descriptors: string[];
  /** The aromatic share of heavy atoms, then a count of each of {@link COUNT_PATTERNS}. */
  counts: boolean;
  /** The 167 MACCS structural keys as 0/1. */
  maccs: boolean;
  /** Morgan fingerprint bits (0/1); absent = none. */
  morgan?: { radius: number; bits: number } | undefined;
}

/** The features Galen trains molecule models on by default. */
export const DEFAULT_MOLECULE_FEATURES: MoleculeFeatureOptions = {
  descriptors: [...RDKIT_DESCRIPTORS],
  counts: true,
  maccs: true,
  morgan: { radius: 2, bits: 1024 },
};

export const MOLECULE_LIMITS = {
  smilesLength: 2000,
  morganBits: 8192,
  morganRadius: 6,
  perRequest: 1000,
} as const;
const MACCS_KEYS = 167;

const SHAPE =
  '{"descriptors": [RDKit descriptor names], "counts": true|false, "maccs": true|false, "morgan"?: {"radius": 1-6, "bits": 8-8192}}';

/** Checks feature options from JSON (a model's declaration or a training request). */
export function parseMoleculeFeatureOptions(raw: unknown, what: string): MoleculeFeatureOptions {
  const fail = (why: string): never => {
    throw new GalenError('invalid_input', `${what}: ${why}; molecule features are ${SHAPE}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not an object');
  const o = raw as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => !['descriptors', 'counts', 'maccs', 'morgan'].includes(k));
  if (unknownKey !== undefined) fail(`"${unknownKey}" is not an option`);
  const descriptors = o['descriptors'] ?? [];
  if (!Array.isArray(descriptors) || descriptors.some((d) => typeof d !== 'string'))
    fail('"descriptors" is a list of names');
  const known = new Set<string>(RDKIT_DESCRIPTORS);
  const unknown = (descriptors as string[]).find((d) => !known.has(d));
  if (unknown !== undefined)
    fail(`RDKit does not compute "${unknown}"; it computes ${RDKIT_DESCRIPTORS.join(', ')}`);
  for (const flag of ['counts', 'maccs'] as const)
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') fail(`"${flag}" is true or false`);
  let morgan: MoleculeFeatureOptions['morgan'];
  if (o['morgan'] !== undefined) {
    const m: unknown = o['morgan'];
    const field = (k: string): unknown =>
      typeof m === 'object' && m !== null ? (m as Record<string, unknown>)[k] : undefined;
    const int = (v: unknown, lo: number, hi: number): v is number =>
      typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
    const radius = field('radius');
    const bits = field('bits');
    if (!int(radius, 1, MOLECULE_LIMITS.morganRadius) || !int(bits, 8, MOLECULE_LIMITS.morganBits))
      return fail(`"morgan" is ${JSON.stringify(m)}`);
    morgan = { radius, bits };
  }
  const options = {
    descriptors: descriptors as string[],
    counts: o['counts'] === true,
    maccs: o['maccs'] === true,
    ...(morgan && { morgan }),
  };
  if (moleculeFeatureWidth(options) === 0) fail('it selects no features');
  return options;
}

/** The names of a feature row's columns, in order. */
export function moleculeFeatureNames(options: MoleculeFeatureOptions): string[] {
  const m = options.morgan;
  return [
    ...options.descriptors,
    ...(options.counts
      ? ['aromatic_proportion', ...Object.keys(COUNT_PATTERNS).map((k) => `count_${k}`)]
      : []),
    ...(options.maccs ? Array.from({ length: MACCS_KEYS }, (_, k) => `maccs_${k}`) : []),
    ...(m ? Array.from({ length: m.bits }, (_, b) => `ecfp${2 * m.radius}_${b}`) : []),
  ];
}

export function moleculeFeatureWidth(options: MoleculeFeatureOptions): number {
  return (
    options.descriptors.length +
    (options.counts ? 1 + Object.keys(COUNT_PATTERNS).length : 0) +
    (options.maccs ? MACCS_KEYS : 0) +
    (options.morgan?.bits ?? 0)
  );
}
