/**
 * The shape of a patient's Bundle, checked before any of it is read: FHIR JSON comes from EHRs and
 * clients, and the feature evaluation reads `entry[].resource`, codings, components, quantities,
 * subjects and times as the R4 types they are. A value of another JSON type (a string where an
 * array belongs, `null` in an array, a number where a reference is text) is refused here with the
 * path that is wrong and the type FHIR requires there, never met later as a TypeError. Only the
 * elements Galen reads are checked; everything else passes untouched (FHIRPath reads the rest and
 * its failures are already invalid input). Errors name paths and types, never values.
 */
import { GalenError, isJsonObject, jsonDeeperThan, jsonTypeOf } from '../core/index.js';

/** A JSON type FHIR requires at a path: a primitive, an object with typed elements, or an array of one. */
type Shape = 'string' | 'number' | 'object' | ElementShapes | readonly [Shape];
interface ElementShapes {
  readonly [element: string]: Shape;
}

const CODING: ElementShapes = { system: 'string', code: 'string', display: 'string' };
const CODEABLE_CONCEPT: ElementShapes = { coding: [CODING], text: 'string' };
const REFERENCE: ElementShapes = { reference: 'string', display: 'string' };
const PERIOD: ElementShapes = { start: 'string', end: 'string' };
const QUANTITY: ElementShapes = { value: 'number', unit: 'string', code: 'string', system: 'string' };

/** What the feature evaluation reads of each resource type (and of every resource). */
const RESOURCE: Readonly<Record<string, ElementShapes>> = {
  Patient: { gender: 'string', birthDate: 'string', deceasedDateTime: 'string' },
  Observation: {
    status: 'string',
    subject: REFERENCE,
    code: CODEABLE_CONCEPT,
    effectiveDateTime: 'string',
    effectivePeriod: PERIOD,
    effectiveInstant: 'string',
    issued: 'string',
    valueQuantity: QUANTITY,
    component: [{ code: CODEABLE_CONCEPT, valueQuantity: QUANTITY }],
  },
  Condition: {
    subject: REFERENCE,
    code: CODEABLE_CONCEPT,
    clinicalStatus: CODEABLE_CONCEPT,
    verificationStatus: CODEABLE_CONCEPT,
    onsetDateTime: 'string',
    onsetPeriod: PERIOD,
    recordedDate: 'string',
  },
};
const EVERY_RESOURCE: ElementShapes = { resourceType: 'string', id: 'string' };

/** Deeper than this, a Bundle is refused: R4 resources nest a few levels, FHIRPath recurses. */
export const MAX_FHIR_DEPTH = 64;

function describeShape(shape: Shape): string {
  if (shape === 'string' || shape === 'number') return `a ${shape}`;
  if (shape === 'object' || !Array.isArray(shape)) return 'a JSON object';
  return `an array of ${describeShape((shape as readonly [Shape])[0]).replace(/^an? /, '')}s`;
}

function check(value: unknown, shape: Shape, path: string): void {
  const wrong = (): GalenError =>
    new GalenError('invalid_input', `${path} must be ${describeShape(shape)}, not ${jsonTypeOf(value)}`);
  if (shape === 'string' || shape === 'number') {
    if (typeof value !== shape || (shape === 'number' && !Number.isFinite(value))) throw wrong();
    return;
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) throw wrong();
    const item = (shape as readonly [Shape])[0];
    value.forEach((v, i) => check(v, item, `${path}[${i}]`));
    return;
  }
  if (!isJsonObject(value)) throw wrong();
  if (shape === 'object') return;
  for (const [element, elementShape] of Object.entries(shape as ElementShapes)) {
    if (value[element] !== undefined) check(value[element], elementShape, `${path}.${element}`);
  }
}

/**
 * Checks that `bundle` is a Bundle whose entries, and the elements of its resources that features
 * are built from, have their FHIR JSON types. Throws `invalid_input` naming the first wrong path.
 *
 * @example
 * assertBundleShape({ resourceType: 'Bundle', entry: {} });
 * // GalenError: Bundle.entry must be an array of JSON objects, not an object
 */
export function assertBundleShape(bundle: unknown): void {
  if (!isJsonObject(bundle)) {
    throw new GalenError(
      'invalid_input',
      `expected a FHIR Bundle (a JSON object with "resourceType": "Bundle"), not ${jsonTypeOf(bundle)}`,
    );
  }
  if (bundle['resourceType'] !== 'Bundle') {
    const type = bundle['resourceType'];
    throw new GalenError(
      'invalid_input',
      `expected a Bundle, got ${typeof type === 'string' ? `resourceType ${JSON.stringify(type.slice(0, 64))}` : 'no resourceType'}`,
    );
  }
  if (jsonDeeperThan(bundle, MAX_FHIR_DEPTH)) {
    throw new GalenError('invalid_input', `the Bundle nests deeper than ${MAX_FHIR_DEPTH} levels`);
  }
  const entries = bundle['entry'];
  if (entries === undefined) return;
  check(entries, ['object'], 'Bundle.entry');
  (entries as Record<string, unknown>[]).forEach((entry, i) => {
    const path = `Bundle.entry[${i}]`;
    check(entry, { fullUrl: 'string', resource: 'object' }, path);
    const resource = entry['resource'] as Record<string, unknown> | undefined;
    if (resource === undefined) return;
    check(resource, EVERY_RESOURCE, `${path}.resource`);
    const type = resource['resourceType'];
    if (typeof type !== 'string') {
      throw new GalenError('invalid_input', `${path}.resource has no resourceType (a string)`);
    }
    const elements = RESOURCE[type];
    if (elements) check(resource, elements, `${path}.resource (${type})`);
  });
}
