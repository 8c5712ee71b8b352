/**
 * Declarations a model makes in its ONNX metadata (`galen.image_inputs`, `galen.preprocessing`,
 * `galen.ranking`): JSON under a key, read when a version is registered.
 */
import { GalenError } from './errors.js';

/** The refusal of a declaration, saying which key and why. */
export const modelMetadataError = (key: string, why: string): GalenError =>
  new GalenError('invalid_input', `the model's "${key}" metadata is invalid: ${why}`);

/** The JSON a model declares under `key`; undefined when it declares nothing there. */
export function declaredJson(metadata: Readonly<Record<string, string>>, key: string): unknown {
  const text = metadata[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw modelMetadataError(key, 'it is not JSON');
  }
}
