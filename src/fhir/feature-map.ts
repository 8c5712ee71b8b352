/**
 * Feature maps: for a model version, how each of its inputs is built from a patient's FHIR R4
 * data — the patient's age or sex, an aggregate over Observations with a LOINC (or other) code
 * in a time window with its unit converted (UCUM), whether a Condition with a SNOMED (or ICD)
 * code is recorded, or any FHIRPath expression — and what to do when the data has none. Parsed
 * and checked against the version's signature before it is stored, so a map that cannot feed the
 * model is refused with what is wrong.
 */
import { GalenError } from '../core/index.js';
import type { Signature } from '../core/index.js';
import { isUcumUnit } from './units.js';

export interface Coding {
  system: string;
  code: string;
}

export const AGGREGATES = ['latest', 'earliest', 'mean', 'min', 'max', 'count', 'exists'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export type FeatureSource =
  | { from: 'patient'; field: 'age' | 'sex' }
  | {
      from: 'observation';
      /** Any of these codes (LOINC for vitals and labs). */
      codes: Coding[];
      /** For a panel such as blood pressure (85354-9): the component to read (8480-6 systolic). */
      component?: Coding;
      aggregate: Aggregate;
      /** ISO 8601 duration back from the evaluation time, e.g. `P1Y`, `P30D`, `PT24H`; default all time. */
      window?: string;
      /** The UCUM unit the model takes; quantities in other units are converted, or refused. */
      unit?: string;
    }
  | {
      from: 'condition';
      codes: Coding[];
      aggregate: 'exists' | 'count';
      window?: string;
      activeOnly?: boolean;
    }
  | {
      from: 'fhirpath';
      expression: string;
      aggregate?: 'first' | 'last' | 'count' | 'exists' | 'mean' | 'min' | 'max';
      /**
       * The Observation and Condition codes the expression reads, so that CDS Hooks prefetch
       * (and Galen's own fetch from the EHR) brings them; an expression sees only what is fetched.
       */
      reads?: { observation?: Coding[]; condition?: Coding[] };
    };

/** What to feed when the data has nothing for an input. */
export type MissingPolicy =
  | { policy: 'missing' } // NaN / '' : the model's own imputation handles it
  | { policy: 'value'; value: number | string }
  | { policy: 'refuse' }; // the call is answered "required data unavailable"

export interface FeatureMapping {
  source: FeatureSource;
  /** Text values mapped to what the model takes, e.g. sex {"male": 1, "female": 0}. */
  values?: Record<string, number | string>;
  missing: MissingPolicy;
}

/** Probability from which a CDS card is a warning, and from which it is critical. */
export interface RiskThresholds {
  warning: number;
  critical: number;
}

export const DEFAULT_THRESHOLDS: RiskThresholds = { warning: 0.2, critical: 0.5 };

export interface FeatureMap {
  inputs: Record<string, FeatureMapping>;
  /**
   * What the model predicts, in a clinician's words ("heart disease"): the RiskAssessment's
   * outcome and the card's summary. Default: the predicted class's label.
   */
  outcome?: string;
  /** Where this version's CDS cards turn warning and critical (default 0.2 and 0.5). */
  thresholds?: RiskThresholds;
  /** Links on every CDS card, e.g. the model's documentation on the hospital's intranet. */
  links?: { label: string; url: string }[];
}

function parseLinks(raw: unknown): { label: string; url: string }[] | undefined {
  if (raw === undefined) return undefined;
  const valid =
    Array.isArray(raw) &&
    raw.length <= 10 &&
    raw.every((l: { label?: unknown; url?: unknown }) => {
      if (typeof l?.label !== 'string' || l.label === '' || l.label.length > 80) return false;
      if (typeof l.url !== 'string') return false;
      try {
        return ['https:', 'http:'].includes(new URL(l.url).protocol);
      } catch {
        return false;
      }
    });
  if (!valid) {
    throw new GalenError(
      'invalid_input',
      'links is a list of up to 10 {"label": "…" (1–80 characters), "url": "https://…"} entries',
    );
  }
  return (raw as { label: string; url: string }[]).map(({ label, url }) => ({ label, url }));
}

function parseThresholds(raw: unknown): RiskThresholds | undefined {
  if (raw === undefined) return undefined;
  const t = raw as Partial<Record<keyof RiskThresholds, unknown>>;
  const ok = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
  if (
    typeof raw !== 'object' ||
    raw === null ||
    !ok(t.warning) ||
    !ok(t.critical) ||
    t.warning > t.critical
  ) {
    throw new GalenError(
      'invalid_input',
      'thresholds is {"warning": p, "critical": q}, probabilities with 0 <= p <= q <= 1 (e.g. {"warning": 0.2, "critical": 0.5})',
    );
  }
  return { warning: t.warning, critical: t.critical };
}

/** Which kind of value a source gives before `values` mapping. */
function producesText(source: FeatureSource): boolean | undefined {
  switch (source.from) {
    case 'patient':
      return source.field === 'sex';
    case 'observation':
    case 'condition':
      return false;
    case 'fhirpath':
      return undefined; // depends on the expression: checked when evaluated
  }
}

const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;

/** A window's length in milliseconds (months 30 days, years 365.25). */
export function durationMs(window: string): number {
  const m = DURATION.exec(window);
  if (!m)
    throw new GalenError(
      'invalid_input',
      `window "${window}" is not an ISO 8601 duration such as P1Y, P30D or PT24H`,
    );
  const n = (s: string | undefined): number => (s === undefined ? 0 : Number(s.slice(0, -1)));
  const days = n(m[1]) * 365.25 + n(m[2]) * 30 + n(m[3]) * 7 + n(m[4]);
  const seconds = n(m[6]) * 3600 + n(m[7]) * 60 + n(m[8]);
  return days * 86_400_000 + seconds * 1000;
}

function fail(input: string, why: string): never {
  throw new GalenError('invalid_input', `feature map input "${input}": ${why}`);
}

function parseCoding(input: string, value: unknown, what: string): Coding {
  const coding = value as Partial<Coding>;
  if (typeof coding?.system !== 'string' || typeof coding.code !== 'string' || coding.code === '') {
    fail(input, `${what} is {"system": "http://loinc.org", "code": "8480-6"} (system and code are strings)`);
  }
  return { system: coding.system, code: coding.code };
}

/** A FHIRPath source's `reads`: {"observation"?: codes, "condition"?: codes}, at least one. */
function parseReads(
  input: string,
  value: unknown,
): { observation?: Coding[]; condition?: Coding[] } | undefined {
  if (value === undefined) return undefined;
  const kinds = ['observation', 'condition'] as const;
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    Object.keys(value).length === 0 ||
    Object.keys(value).some((k) => !(kinds as readonly string[]).includes(k))
  )
    fail(
      input,
      'reads is {"observation"?: [codings], "condition"?: [codings]}, naming what the expression reads',
    );
  const r = value as Record<string, unknown>;
  const reads: { observation?: Coding[]; condition?: Coding[] } = {};
  for (const kind of kinds) if (r[kind] !== undefined) reads[kind] = parseCodings(input, r[kind]);
  return reads;
}

function parseCodings(input: string, value: unknown): Coding[] {
  if (!Array.isArray(value) || value.length === 0) {
    fail(input, 'codes is a list of at least one {"system": "http://loinc.org", "code": "8480-6"}');
  }
  return value.map((c: unknown) => parseCoding(input, c, 'each code'));
}

function parseSource(input: string, raw: unknown): FeatureSource {
  const s = raw as Record<string, unknown>;
  if (typeof s !== 'object' || s === null) fail(input, 'source must be an object with "from"');
  const window = s['window'];
  if (window !== undefined) {
    if (typeof window !== 'string') fail(input, 'window must be an ISO 8601 duration string');
    durationMs(window);
  }
  switch (s['from']) {
    case 'patient':
      if (s['field'] !== 'age' && s['field'] !== 'sex')
        fail(input, 'a patient source has field "age" or "sex"');
      return { from: 'patient', field: s['field'] };
    case 'observation': {
      const aggregate = s['aggregate'] ?? 'latest';
      if (!(AGGREGATES as readonly unknown[]).includes(aggregate)) {
        fail(input, `aggregate ${JSON.stringify(aggregate)} is not one of ${AGGREGATES.join(', ')}`);
      }
      const unit = s['unit'];
      if (unit !== undefined && (typeof unit !== 'string' || !isUcumUnit(unit))) {
        fail(input, `unit ${JSON.stringify(unit)} is not a UCUM unit (e.g. "kg", "mm[Hg]", "Cel", "mg/dL")`);
      }
      return {
        from: 'observation',
        codes: parseCodings(input, s['codes']),
        ...(s['component'] !== undefined && { component: parseCoding(input, s['component'], 'component') }),
        aggregate: aggregate as Aggregate,
        ...(window !== undefined && { window: window }),
        ...(unit !== undefined && { unit: unit }),
      };
    }
    case 'condition': {
      const aggregate = s['aggregate'] ?? 'exists';
      if (aggregate !== 'exists' && aggregate !== 'count')
        fail(input, 'a condition source aggregates by "exists" or "count"');
      if (s['activeOnly'] !== undefined && typeof s['activeOnly'] !== 'boolean')
        fail(input, 'activeOnly is true or false');
      return {
        from: 'condition',
        codes: parseCodings(input, s['codes']),
        aggregate,
        ...(window !== undefined && { window: window }),
        ...(s['activeOnly'] !== undefined && { activeOnly: s['activeOnly'] }),
      };
    }
    case 'fhirpath': {
      if (typeof s['expression'] !== 'string' || s['expression'].trim() === '')
        fail(input, 'a fhirpath source has an "expression"');
      const aggregate = s['aggregate'] ?? 'first';
      const allowed = ['first', 'last', 'count', 'exists', 'mean', 'min', 'max'];
      if (!allowed.includes(aggregate as string))
        fail(input, `aggregate ${JSON.stringify(aggregate)} is not one of ${allowed.join(', ')}`);
      const reads = parseReads(input, s['reads']);
      return {
        from: 'fhirpath',
        expression: s['expression'],
        aggregate: aggregate as 'first',
        ...(reads !== undefined && { reads }),
      };
    }
    default:
      return fail(
        input,
        `source.from is ${JSON.stringify(s['from'])}; use "patient", "observation", "condition" or "fhirpath"`,
      );
  }
}

function parseMissing(input: string, raw: unknown): MissingPolicy {
  if (raw === undefined) return { policy: 'missing' };
  const m = raw as Record<string, unknown>;
  if (m?.['policy'] === 'missing' || m?.['policy'] === 'refuse') return { policy: m['policy'] };
  if (m?.['policy'] === 'value' && (typeof m['value'] === 'number' || typeof m['value'] === 'string')) {
    return { policy: 'value', value: m['value'] };
  }
  return fail(
    input,
    'missing is {"policy": "missing"} (the model imputes), {"policy": "value", "value": …} or {"policy": "refuse"}',
  );
}

/** A map as stored for a version: `parseFeatureMap` checked it when it was set. */
export const storedFeatureMap = (stored: object): FeatureMap => stored as FeatureMap;

/**
 * Parses a feature map and checks it against the version's signature: every model input is
 * mapped, to a source whose values the input's datatype can take.
 */
export function parseFeatureMap(raw: unknown, signature: Signature): FeatureMap {
  const inputs = (raw as { inputs?: unknown })?.inputs;
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new GalenError(
      'invalid_input',
      'a feature map is {"inputs": {"<model input>": {"source": {…}, "missing": {…}}}, "outcome"?: "…", "thresholds"?: {"warning", "critical"}}',
    );
  }
  const specs = new Map(signature.inputs.map((s) => [s.name, s]));
  const out: Record<string, FeatureMapping> = {};
  for (const [name, value] of Object.entries(inputs as Record<string, unknown>)) {
    const spec = specs.get(name);
    if (!spec) fail(name, `the model has no such input; its inputs are ${[...specs.keys()].join(', ')}`);
    if (spec.datatype !== 'FP32' && spec.datatype !== 'FP64' && spec.datatype !== 'BYTES') {
      fail(name, `the input is ${spec.datatype}; feature maps feed FP32, FP64 or BYTES inputs`);
    }
    if (spec.shape.length !== 2 || (spec.shape[1] !== 1 && spec.shape[1] !== -1)) {
      fail(
        name,
        `the input has shape [${spec.shape.join(', ')}]; feature maps feed one value per patient ([-1, 1])`,
      );
    }
    const entry = value as Record<string, unknown>;
    const source = parseSource(name, entry?.['source']);
    const values = entry?.['values'];
    if (values !== undefined) {
      if (
        typeof values !== 'object' ||
        values === null ||
        Object.values(values).some((v) => typeof v !== 'number' && typeof v !== 'string')
      ) {
        fail(name, 'values maps text to numbers or text, e.g. {"male": 1, "female": 0}');
      }
    }
    const missing = parseMissing(name, entry?.['missing']);
    const mapped =
      values === undefined ? undefined : Object.values(values as Record<string, number | string>);
    const text = mapped ? typeof mapped[0] === 'string' : producesText(source);
    if (text !== undefined && (spec.datatype === 'BYTES') !== text) {
      fail(
        name,
        `the input takes ${spec.datatype === 'BYTES' ? 'text (BYTES)' : 'numbers'}, and this source gives ${text ? 'text' : 'numbers'}${text ? '; map them with "values", e.g. {"male": 1, "female": 0}' : ''}`,
      );
    }
    if (missing.policy === 'value' && (typeof missing.value === 'string') !== (spec.datatype === 'BYTES')) {
      fail(
        name,
        `the missing value ${JSON.stringify(missing.value)} is not a ${spec.datatype === 'BYTES' ? 'string' : 'number'}`,
      );
    }
    out[name] = {
      source,
      ...(values !== undefined && { values: values as Record<string, number | string> }),
      missing,
    };
  }
  const unmapped = [...specs.keys()].filter((n) => !(n in out));
  if (unmapped.length > 0) {
    throw new GalenError(
      'invalid_input',
      `the feature map leaves input(s) ${unmapped.join(', ')} unmapped; every model input needs a source`,
    );
  }
  const { outcome, thresholds, links } = raw as { outcome?: unknown; thresholds?: unknown; links?: unknown };
  if (
    outcome !== undefined &&
    (typeof outcome !== 'string' || outcome.trim() === '' || outcome.length > 100)
  ) {
    throw new GalenError('invalid_input', 'outcome is the predicted outcome in words, 1 to 100 characters');
  }
  const parsedThresholds = parseThresholds(thresholds);
  const parsedLinks = parseLinks(links);
  return {
    inputs: out,
    ...(outcome !== undefined && { outcome }),
    ...(parsedThresholds && { thresholds: parsedThresholds }),
    ...(parsedLinks && { links: parsedLinks }),
  };
}
