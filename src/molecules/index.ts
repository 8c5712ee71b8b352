/** Molecules: SMILES parsed and featurised by RDKit (WebAssembly) on threads of their own, and Bemis–Murcko scaffolds. */
export {
  COUNT_PATTERNS,
  DEFAULT_MOLECULE_FEATURES,
  MOLECULE_LIMITS,
  RDKIT_DESCRIPTORS,
  moleculeFeatureNames,
  moleculeFeatureWidth,
  parseMoleculeFeatureOptions,
} from './features.js';
export type { MoleculeFeatureOptions } from './features.js';
export { MoleculeToolkit } from './toolkit.js';
export type { MoleculeToolkitOptions } from './toolkit.js';
export type { FeaturizeResult } from './rdkit-thread.js';
