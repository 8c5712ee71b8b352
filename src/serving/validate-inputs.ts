/**
 * Checks a request against a version's signature before anything reaches ONNX Runtime: input
 * names, datatypes and shapes (with -1 for dynamic dimensions), and the requested outputs.
 * Every message names the input, what arrived and what the model expects.
 */
import { isUtf8 } from 'node:buffer';
import { GalenError, formatShape, quoted, shapeMatches } from '../core/index.js';
import type { Signature, Tensor, TensorSpec } from '../core/index.js';
import type { DeclaredInput } from './tensor-limits.js';

const list = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/** The spec `input` is for: its name known, given once, its datatype and shape as the spec says. */
function checkAgainstSpec(
  label: string,
  specs: ReadonlyMap<string, TensorSpec>,
  seen: Set<string>,
  input: DeclaredInput,
): void {
  const spec = specs.get(input.name);
  if (!spec) {
    throw new GalenError(
      'invalid_input',
      `${label} has no input ${quoted(input.name)}; its inputs are ${list([...specs.keys()])}`,
    );
  }
  if (seen.has(input.name))
    throw new GalenError('invalid_input', `input "${input.name}" is given more than once`);
  seen.add(input.name);
  if (input.datatype !== spec.datatype) {
    throw new GalenError(
      'invalid_input',
      `input "${input.name}" has datatype ${input.datatype}; ${label} expects ${spec.datatype}`,
    );
  }
  if (!shapeMatches(spec.shape, input.shape)) {
    throw new GalenError(
      'invalid_input',
      `input "${input.name}" has shape ${formatShape(input.shape)}; ${label} expects ${formatShape(spec.shape)} (-1 = any size)`,
    );
  }
}

/**
 * Checks what a request declares (names, datatypes, shapes) against the inputs a client may send
 * (the graph's own and their alternatives), before any element is decoded. Inputs left out are
 * found after decoding, by `validateInputs`, once alternatives have become graph inputs.
 */
export function checkDeclaredInputs(
  label: string,
  signature: Signature,
  declared: readonly DeclaredInput[],
): void {
  const specs = new Map(servedInputs(signature).map((s) => [s.name, s]));
  const seen = new Set<string>();
  for (const input of declared) checkAgainstSpec(label, specs, seen, input);
}

export function validateInputs(label: string, signature: Signature, inputs: readonly Tensor[]): void {
  const specs = new Map(signature.inputs.map((s) => [s.name, s]));
  const seen = new Set<string>();
  for (const tensor of inputs) {
    checkAgainstSpec(label, specs, seen, tensor);
    if (tensor.datatype === 'BYTES') {
      // ONNX Runtime's string tensors hold text: other bytes would be silently replaced.
      const bad = (tensor.data as Buffer[]).findIndex((b) => !isUtf8(b));
      if (bad >= 0) {
        throw new GalenError(
          'invalid_input',
          `input "${tensor.name}" element ${bad} is not valid UTF-8; ${label} takes BYTES as UTF-8 text (ONNX string tensors)`,
        );
      }
    }
  }
  const missing = signature.inputs
    .filter((s) => !seen.has(s.name))
    .map((s) => `"${s.name}" ${s.datatype} ${formatShape(s.shape)}`);
  if (missing.length > 0)
    throw new GalenError('invalid_input', `${label} also needs input(s) ${missing.join(', ')}`);
}

/** The outputs to fetch: the requested ones (checked, in request order) or all of them. */
export function selectOutputs(
  label: string,
  signature: Signature,
  requested: readonly string[] | undefined,
): string[] {
  const names = signature.outputs.map((o) => o.name);
  if (requested === undefined || requested.length === 0) return names;
  const seen = new Set<string>();
  for (const name of requested) {
    if (!names.includes(name)) {
      const unserved = signature.unservedOutputs?.find((u) => u.name === name);
      const why = unserved ? ` ("${name}" exists but cannot be served: ${unserved.reason})` : '';
      throw new GalenError(
        'invalid_input',
        `${label} has no output ${quoted(name)}${why}; its outputs are ${list(names)}`,
      );
    }
    if (seen.has(name)) throw new GalenError('invalid_input', `output "${name}" is requested more than once`);
    seen.add(name);
  }
  return [...requested];
}

/**
 * Inputs a client may send in place of a graph input: encoded images and preprocessed inputs
 * (BYTES [-1]), each with the graph input it feeds and what it holds.
 */
export function alternativeInputs(
  signature: Signature,
): { spec: TensorSpec; into: string; content: string; step?: string }[] {
  return [
    ...(signature.imageInputs ?? []).map((i) => ({
      spec: { name: i.name, datatype: 'BYTES' as const, shape: [-1] },
      into: i.into,
      content: 'PNG or JPEG files',
    })),
    ...(signature.preprocessedInputs ?? []).map((p) => ({
      spec: { name: p.name, datatype: 'BYTES' as const, shape: [-1] },
      into: p.into,
      content: 'SMILES strings',
      step: p.step,
    })),
  ];
}

/**
 * The inputs a client may send, as metadata lists them: each alternative input (BYTES [-1]) first,
 * then the graph's own inputs.
 */
export function servedInputs(signature: Signature): TensorSpec[] {
  return [...alternativeInputs(signature).map((a) => a.spec), ...signature.inputs];
}
