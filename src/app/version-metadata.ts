/**
 * What features read from a version's metadata, handed to the registry (which imports none of
 * them): image inputs (`galen.image_inputs`), preprocessing steps (`galen.preprocessing`), a
 * recommender's ranking (`galen.ranking`), and the FHIR feature map checked against the signature.
 */
import { parseFeatureMap } from '../fhir/index.js';
import { imageInputsOf } from '../images/index.js';
import { preprocessedInputsOf } from '../preprocessing/index.js';
import { rankingSpecOf } from '../recommend/index.js';
import type { VersionMetadataReaders } from '../registry/index.js';
import type { JsonObject } from '../store/index.js';

/** The readers every Galen server and job worker registers versions with. */
export const versionMetadataReaders: VersionMetadataReaders = {
  signature: [
    (metadata, signature) => {
      const imageInputs = imageInputsOf(metadata, signature);
      return imageInputs.length > 0 ? { imageInputs } : {};
    },
    (metadata, signature) => {
      const preprocessedInputs = preprocessedInputsOf(metadata, signature);
      return preprocessedInputs.length > 0 ? { preprocessedInputs } : {};
    },
    (metadata, signature) => {
      const ranking = rankingSpecOf(metadata, signature);
      return ranking ? { ranking } : {};
    },
  ],
  featureMap: (raw, signature) => parseFeatureMap(raw, signature) as unknown as JsonObject,
};
