/**
 * Preprocessing steps: work Galen does on a request's input before the graph, declared by the model
 * itself in its ONNX metadata (key `galen.preprocessing`, a JSON list of
 * `{"name", "into", "step", "options"}`), checked against the graph when the version is registered,
 * and run by serving for every protocol. Any model can declare one, not only Galen-trained ones.
 *
 * Steps:
 * - `molecule_features`: SMILES strings (BYTES [-1]) into the FP32 [-1, K] row RDKit computes
 *   with the declared feature options (`parseMoleculeFeatureOptions`); an invalid SMILES is refused.
 *
 * (Encoded images are older and declared under `galen.image_inputs`; see `images/`.)
 */
import { GalenError, declaredJson, modelMetadataError } from '../core/index.js';
import type { PreprocessedInputSpec, Signature, Tensor } from '../core/index.js';
import { MOLECULE_LIMITS, moleculeFeatureWidth, parseMoleculeFeatureOptions } from '../molecules/index.js';
import type { MoleculeToolkit } from '../molecules/index.js';

export const PREPROCESSING_METADATA_KEY = 'galen.preprocessing';
export const PREPROCESSING_STEPS = ['molecule_features'] as const;

const bad = (why: string): GalenError => modelMetadataError(PREPROCESSING_METADATA_KEY, why);

/** The steps a model declares, checked against its graph. */
export function preprocessedInputsOf(
  metadata: Readonly<Record<string, string>>,
  signature: Signature,
): PreprocessedInputSpec[] {
  const parsed = declaredJson(metadata, PREPROCESSING_METADATA_KEY);
  if (parsed === undefined) return [];
  if (!Array.isArray(parsed)) throw bad('expected a JSON list of {name, into, step, options}');
  const names = new Set(signature.inputs.map((i) => i.name));
  const seen = new Set<string>();
  return parsed.map((entry: unknown, i): PreprocessedInputSpec => {
    const e = entry as Partial<Record<keyof PreprocessedInputSpec, unknown>> | null;
    if (typeof e?.name !== 'string' || typeof e.into !== 'string' || typeof e.step !== 'string')
      throw bad(
        `entry ${i} must be {"name": string, "into": graph input, "step": one of ${PREPROCESSING_STEPS.join(', ')}, "options": {...}}`,
      );
    if (names.has(e.name) || seen.has(e.name))
      throw bad(`entry ${i} is named "${e.name}", which is already an input`);
    seen.add(e.name);
    if (!(PREPROCESSING_STEPS as readonly string[]).includes(e.step))
      throw bad(`entry ${i} names step "${e.step}"; the steps are ${PREPROCESSING_STEPS.join(', ')}`);
    const options = parseMoleculeFeatureOptions(
      e.options,
      `${PREPROCESSING_METADATA_KEY} entry ${i} options`,
    );
    const width = moleculeFeatureWidth(options);
    const target = signature.inputs.find((s) => s.name === e.into);
    if (
      !target ||
      target.datatype !== 'FP32' ||
      target.shape.length !== 2 ||
      (target.shape[1] !== -1 && target.shape[1] !== width)
    ) {
      throw bad(
        `entry ${i} feeds "${e.into}", which must be an FP32 graph input of shape [-1, ${width}] (the width its options give)${target ? `; it is ${target.datatype} [${target.shape.join(', ')}]` : '; there is none'}`,
      );
    }
    return { name: e.name, into: e.into, step: e.step, options: { ...options } };
  });
}

/** Runs declared steps on requests (serving's side). */
export class Preprocessor {
  constructor(private readonly molecules: MoleculeToolkit) {}

  /** Replaces each preprocessed input in `inputs` by the graph input it feeds; other inputs pass through. */
  async apply(specs: readonly PreprocessedInputSpec[], inputs: readonly Tensor[]): Promise<Tensor[]> {
    if (!inputs.some((t) => specs.some((s) => s.name === t.name))) return [...inputs];
    const out: Tensor[] = [];
    for (const tensor of inputs) {
      const spec = specs.find((s) => s.name === tensor.name);
      if (!spec) {
        out.push(tensor);
        continue;
      }
      if (inputs.some((t) => t.name === spec.into))
        throw new GalenError(
          'invalid_input',
          `send either "${spec.name}" (SMILES) or "${spec.into}" (features), not both`,
        );
      out.push(await this.featurize(spec, tensor));
    }
    return out;
  }

  private async featurize(spec: PreprocessedInputSpec, tensor: Tensor): Promise<Tensor> {
    const rows = tensor.shape[0] ?? 0;
    if (
      tensor.datatype !== 'BYTES' ||
      !(tensor.shape.length === 1 || (tensor.shape.length === 2 && tensor.shape[1] === 1))
    ) {
      throw new GalenError(
        'invalid_input',
        `input "${spec.name}" has datatype ${tensor.datatype} and shape [${tensor.shape.join(', ')}]; it takes BYTES of shape [-1] (or [-1, 1]), one SMILES string per element`,
      );
    }
    if (rows > MOLECULE_LIMITS.perRequest) {
      throw new GalenError(
        'payload_too_large',
        `input "${spec.name}" has ${rows} SMILES; send at most ${MOLECULE_LIMITS.perRequest} per request`,
      );
    }
    const smiles = (tensor.data as readonly Uint8Array[]).map((b) => Buffer.from(b).toString('utf8'));
    const options = parseMoleculeFeatureOptions(spec.options, `input "${spec.name}"`);
    const result = await this.molecules.featurize(smiles, options);
    if (result.invalid.length > 0) {
      const shown = result.invalid
        .slice(0, 3)
        .map((i) => `element ${i} (${JSON.stringify(smiles[i]!.slice(0, 80))})`)
        .join(', ');
      throw new GalenError(
        'invalid_input',
        `input "${spec.name}": ${result.invalid.length} of ${rows} element(s) are not valid SMILES that RDKit can parse: ${shown}${result.invalid.length > 3 ? ', …' : ''}`,
      );
    }
    return { name: spec.into, datatype: 'FP32', shape: [rows, result.width], data: result.values };
  }
}
