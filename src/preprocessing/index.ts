/** Preprocessing steps a model declares (SMILES → molecule features), checked at registration and run by serving. */
export {
  PREPROCESSING_METADATA_KEY,
  PREPROCESSING_STEPS,
  Preprocessor,
  preprocessedInputsOf,
} from './preprocessing.js';
