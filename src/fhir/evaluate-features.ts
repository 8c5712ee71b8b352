/**
 * A feature map evaluated against one patient's FHIR data (a Bundle of any type — batch,
 * transaction, collection, searchset — or CDS Hooks prefetch resources): each input's value at
 * the evaluation time, the resources it came from (for RiskAssessment.basis), and the inputs the
 * data had nothing for. FHIRPath is evaluated by the `fhirpath` library (R4 model).
 */
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4/index.js';
import type { Bundle, Condition, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { GalenError, kindOf, quoted } from '../core/index.js';
import { assertBundleShape } from './bundle-shape.js';
import type { Coding, FeatureMap, FeatureMapping } from './feature-map.js';
import { durationMs } from './feature-map.js';
import { convertUnit } from './units.js';

export interface PatientData {
  /** The Bundle the data came in: what FHIRPath expressions are evaluated against. */
  bundle: Bundle;
  patient: Patient;
  /** Every resource, the patient included. */
  resources: Resource[];
  /** The reference each resource is cited by (`Observation/123`, or its `urn:uuid:` fullUrl). */
  referenceOf: Map<Resource, string>;
}

export interface EvaluatedFeatures {
  /** Per input: a number, text, or null when the data had nothing and the policy is `missing`. */
  values: Record<string, number | string | null>;
  /** References of the resources the values came from. */
  basis: string[];
  /** Inputs the data had nothing for (whatever their policy). */
  missing: string[];
  /** Inputs whose policy is `refuse` and that the data had nothing for. */
  refused: string[];
}

/**
 * The patient and their resources from a Bundle; one Patient is required. The Bundle's shape is
 * checked first ({@link assertBundleShape}), so what follows may read it as the R4 types it claims.
 */
export function patientData(input: unknown): PatientData {
  assertBundleShape(input);
  const bundle = input as Bundle;
  const resources: Resource[] = [];
  const referenceOf = new Map<Resource, string>();
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource;
    if (!resource) continue;
    resources.push(resource);
    referenceOf.set(
      resource,
      resource.id ? `${resource.resourceType}/${resource.id}` : (entry.fullUrl ?? resource.resourceType),
    );
  }
  const patients = resources.filter((r): r is Patient => r.resourceType === 'Patient');
  if (patients.length !== 1) {
    throw new GalenError(
      'invalid_input',
      `the Bundle holds ${patients.length} Patient resources; a prediction is for exactly one patient`,
    );
  }
  const patient = patients[0]!;
  checkSubjects(bundle, patient);
  return { bundle, patient, resources, referenceOf };
}

/**
 * Every Observation and Condition (what feature maps read) must be about the Bundle's patient:
 * one without a subject, or about someone else, is refused rather than used or silently dropped.
 */
function checkSubjects(bundle: Bundle, patient: Patient): void {
  const patientEntry = bundle.entry?.find((e) => e.resource === patient);
  const own = new Set(
    [
      patient.id && `Patient/${patient.id}`,
      patient.id && `urn:uuid:${patient.id}`,
      patientEntry?.fullUrl,
    ].filter((r): r is string => Boolean(r)),
  );
  const isOwn = (reference: string): boolean =>
    own.has(reference) || (patient.id !== undefined && reference.endsWith(`/Patient/${patient.id}`));
  for (const [i, entry] of (bundle.entry ?? []).entries()) {
    const resource = entry.resource;
    if (resource?.resourceType !== 'Observation' && resource?.resourceType !== 'Condition') continue;
    // Named by its place in the Bundle: its id, and the references, may be a patient's identifiers.
    const name = `the ${resource.resourceType} in Bundle.entry[${i}]`;
    const reference = resource.subject?.reference;
    if (reference === undefined) {
      throw new GalenError(
        'invalid_input',
        `${name} has no subject; every Observation and Condition must reference the Bundle's patient`,
      );
    }
    if (!isOwn(reference)) {
      throw new GalenError(
        'invalid_input',
        `${name} is about another subject than the Bundle's Patient (its subject.reference names neither Patient/<id> nor the Patient entry's fullUrl); a prediction reads one patient's data`,
      );
    }
  }
}

/** The R4 model (its published types disagree with exactOptionalPropertyTypes, not with the library). */
const r4 = r4Model as unknown as Parameters<typeof fhirpath.evaluate>[3];

const matches = (
  codings: readonly { system?: string; code?: string }[] | undefined,
  wanted: readonly Coding[],
): boolean => (codings ?? []).some((c) => wanted.some((w) => w.system === c.system && w.code === c.code));

function effectiveTime(o: Observation): number | undefined {
  const t =
    o.effectiveDateTime ??
    o.effectivePeriod?.end ??
    o.effectivePeriod?.start ??
    o.effectiveInstant ??
    o.issued;
  const ms = t === undefined ? Number.NaN : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

function conditionTime(c: Condition): number | undefined {
  const t = c.onsetDateTime ?? c.onsetPeriod?.start ?? c.recordedDate;
  const ms = t === undefined ? Number.NaN : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Age in whole years on `at` from a birth date (YYYY, YYYY-MM or YYYY-MM-DD). */
export function ageOn(birthDate: string, at: Date): number | undefined {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2] ?? 1), Number(m[3] ?? 1)];
  let age = at.getUTCFullYear() - y;
  if (at.getUTCMonth() + 1 < mo || (at.getUTCMonth() + 1 === mo && at.getUTCDate() < d)) age -= 1;
  return age;
}

function aggregate(values: { value: number; time: number }[], how: string): number | undefined {
  if (how === 'count') return values.length;
  if (how === 'exists') return values.length > 0 ? 1 : 0;
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a.time - b.time);
  switch (how) {
    case 'latest':
      return sorted.at(-1)!.value;
    case 'earliest':
      return sorted[0]!.value;
    case 'mean':
      return values.reduce((s, v) => s + v.value, 0) / values.length;
    case 'min':
      return Math.min(...values.map((v) => v.value));
    case 'max':
      return Math.max(...values.map((v) => v.value));
    default:
      return undefined;
  }
}

function evaluateOne(
  name: string,
  mapping: FeatureMapping,
  data: PatientData,
  at: Date,
  basis: Set<string>,
): number | string | undefined {
  const source = mapping.source;
  const since = (window: string | undefined): number =>
    window === undefined ? -Infinity : at.getTime() - durationMs(window);
  switch (source.from) {
    case 'patient': {
      basis.add(data.referenceOf.get(data.patient)!);
      if (source.field === 'sex') return data.patient.gender;
      return data.patient.birthDate === undefined ? undefined : ageOn(data.patient.birthDate, at);
    }
    case 'observation': {
      const from = since(source.window);
      const found: { value: number; time: number; ref: string }[] = [];
      for (const r of data.resources) {
        if (r.resourceType !== 'Observation') continue;
        const o = r;
        if (o.status === 'entered-in-error' || o.status === 'cancelled') continue;
        const time = effectiveTime(o);
        if (time === undefined || time < from || time > at.getTime()) continue;
        let quantity = o.valueQuantity;
        if (source.component) {
          if (!matches(o.code?.coding, source.codes)) continue;
          quantity = o.component?.find((c) => matches(c.code?.coding, [source.component!]))?.valueQuantity;
        } else if (!matches(o.code?.coding, source.codes)) {
          continue;
        }
        const ref = data.referenceOf.get(o)!;
        if (source.aggregate === 'count' || source.aggregate === 'exists') {
          found.push({ value: 1, time, ref });
          continue;
        }
        if (quantity?.value === undefined) continue;
        let value = quantity.value;
        if (source.unit !== undefined) {
          const unit = quantity.code ?? quantity.unit;
          const converted = unit === undefined ? undefined : convertUnit(value, unit, source.unit);
          if (converted === undefined) {
            throw new GalenError(
              'invalid_input',
              `input "${name}": an Observation is in ${unit === undefined ? 'no unit' : quoted(unit)}, which does not convert to ${source.unit}`,
            );
          }
          value = converted;
        }
        found.push({ value, time, ref });
      }
      const result = aggregate(found, source.aggregate);
      const used =
        source.aggregate === 'latest' || source.aggregate === 'earliest'
          ? found
              .filter((f) => f.value === result)
              .slice(source.aggregate === 'latest' ? -1 : 0, source.aggregate === 'latest' ? undefined : 1)
          : found;
      for (const f of used) basis.add(f.ref);
      return result;
    }
    case 'condition': {
      const from = since(source.window);
      const found: { value: number; time: number }[] = [];
      for (const r of data.resources) {
        if (r.resourceType !== 'Condition') continue;
        const c = r;
        if (!matches(c.code?.coding, source.codes)) continue;
        if (c.verificationStatus?.coding?.some((v) => v.code === 'entered-in-error' || v.code === 'refuted'))
          continue;
        if (
          source.activeOnly &&
          c.clinicalStatus?.coding?.every(
            (s) => s.code !== 'active' && s.code !== 'recurrence' && s.code !== 'relapse',
          )
        )
          continue;
        const time = conditionTime(c) ?? -Infinity;
        if (time < from || time > at.getTime()) continue;
        found.push({ value: 1, time });
        basis.add(data.referenceOf.get(c)!);
      }
      return aggregate(found, source.aggregate);
    }
    case 'fhirpath': {
      let result: unknown[];
      try {
        result = fhirpath.evaluate(
          data.bundle,
          source.expression,
          { now: at.toISOString() },
          r4,
        ) as unknown[];
      } catch {
        throw new GalenError('invalid_input', `input "${name}": ${fhirpathFailure(source.expression)}`);
      }
      const how = source.aggregate ?? 'first';
      if (how === 'count') return result.length;
      if (how === 'exists') return result.length > 0 ? 1 : 0;
      const plain = result.map((v) => (typeof v === 'object' && v !== null && 'value' in v ? v.value : v));
      if (how === 'first' || how === 'last') {
        const v = how === 'first' ? plain[0] : plain.at(-1);
        return typeof v === 'number' || typeof v === 'string'
          ? v
          : typeof v === 'boolean'
            ? v
              ? 1
              : 0
            : undefined;
      }
      const numbers = plain.filter((v): v is number => typeof v === 'number');
      return aggregate(
        numbers.map((value, time) => ({ value, time })),
        how,
      );
    }
  }
}

/**
 * Why a FHIRPath expression failed: its syntax error when it does not parse (the map's own text),
 * else only that it failed on this data. Evaluation errors of `fhirpath` quote the values they met
 * ("Expected string, but got: …"), which are the patient's.
 */
function fhirpathFailure(expression: string): string {
  try {
    fhirpath.parse(expression);
  } catch (syntax) {
    return `the FHIRPath expression does not parse: ${(syntax as Error).message}`;
  }
  return "the FHIRPath expression failed on this patient's data (a function met a value of a type it does not take, or several values where it takes one); try the expression on a sample Bundle";
}

/** Evaluates every input of `map` for the patient in `data` as of `at`. */
export function evaluateFeatures(map: FeatureMap, data: PatientData, at: Date): EvaluatedFeatures {
  const values: Record<string, number | string | null> = {};
  const basis = new Set<string>();
  const missing: string[] = [];
  const refused: string[] = [];
  for (const [name, mapping] of Object.entries(map.inputs)) {
    let value = evaluateOne(name, mapping, data, at, basis);
    if (value !== undefined && mapping.values) {
      const mapped = mapping.values[String(value)];
      if (mapped === undefined) {
        throw new GalenError(
          'invalid_input',
          // Not the value: it is the patient's.
          `input "${name}": the patient's value (${kindOf(value)}) is not one the feature map's "values" cover (${Object.keys(mapping.values).join(', ')}); add it to "values", or map it to a number`,
        );
      }
      value = mapped;
    }
    if (value === undefined) {
      missing.push(name);
      if (mapping.missing.policy === 'refuse') refused.push(name);
      values[name] = mapping.missing.policy === 'value' ? mapping.missing.value : null;
    } else {
      values[name] = value;
    }
  }
  return { values, basis: [...basis], missing, refused };
}
