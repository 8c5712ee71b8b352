/**
 * De-identification of FHIR R4 Bundles, HIPAA Safe Harbor (45 CFR 164.514(b)(2)) or pseudonymous.
 * The whole Bundle is walked, whatever its resources, and every one of the 18 identifier kinds is
 * removed or transformed:
 * - names (HumanName anywhere, the mother's maiden name, Organization names and aliases);
 * - geography below the state: address lines, cities, districts and geolocation go; a postal code
 *   keeps its first three digits, or 000 where that 3-digit area has under 20,000 people;
 * - dates: reduced to the year (Safe Harbor) or shifted by a per-patient offset (pseudonymous);
 *   a patient over 89 loses the birth date and is marked 90+, and ages over 89 read "≥ 90";
 * - telephone, fax, email and URL contacts (telecom), photos and attachment contents;
 * - identifiers (SSN, MRN, plan, account, licence, device serials…): removed, or replaced by keyed
 *   HMAC pseudonyms that are stable across files;
 * - resource ids and the references between resources: new ids (random, or HMAC pseudonyms),
 *   references rewritten to match, and reference `display` text (often a name) dropped;
 * - narrative (`text.div`) dropped; phone, email, SSN, URL, IP and full-date patterns masked in
 *   any other text.
 * A report counts each change.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { GalenError, isJsonObject, jsonDeeperThan } from '../core/index.js';
import { maskPatterns, zip3Of } from './safe-harbor.js';

export type DeidMode = 'safe-harbor' | 'pseudonymous';

export interface DeidOptions {
  mode: DeidMode;
  /** Pseudonymous mode: the HMAC key (keeps pseudonyms and date shifts stable across files). */
  key?: Uint8Array | undefined;
  /** When ages are computed (default now). */
  now?: Date;
}

export type DeidReport = Record<string, number>;

const DATE = /^(\d{4})(-\d{2}(-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
/** Keys whose string values are codes and canonical URLs, not free text. */
const CODED = new Set([
  'resourceType',
  'system',
  'code',
  'url',
  'version',
  'status',
  'use',
  'gender',
  'unit',
  'language',
  'contentType',
  'method',
]);
const AGE_KEYS = /Age$/;
/** Deeper than this, input is refused: R4 resources nest a few levels, and the walk below recurses. */
export const MAX_DEID_DEPTH = 64;

interface Context {
  options: DeidOptions;
  report: DeidReport;
  ids: Map<string, string>;
  /** Days every date of the patient moves (pseudonymous). */
  shiftDays: number;
}

const count = (ctx: Context, kind: string, n = 1): void => {
  ctx.report[kind] = (ctx.report[kind] ?? 0) + n;
};

function hmac(key: Uint8Array, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

function asUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The new id of `type/id` (random per run, or a stable keyed pseudonym). */
function newId(ctx: Context, type: string, id: string): string {
  const known = ctx.ids.get(`${type}/${id}`) ?? ctx.ids.get(`*/${id}`);
  if (known) return known;
  const made =
    ctx.options.mode === 'pseudonymous' ? asUuid(hmac(ctx.options.key!, `id|${type}|${id}`)) : randomUUID();
  ctx.ids.set(`${type}/${id}`, made);
  ctx.ids.set(`*/${id}`, made);
  count(ctx, 'resource ids');
  return made;
}

function transformDate(ctx: Context, value: string): string {
  const match = DATE.exec(value);
  if (!match) return value;
  count(ctx, 'dates');
  if (ctx.options.mode === 'safe-harbor' || match[2] === undefined) return match[1]!;
  // Pseudonymous: shift, keeping the value's own precision.
  if (match[3] === undefined) return value.slice(0, 4); // year-month: to the year
  const time = Date.parse(match[4] ? value : `${value}T00:00:00Z`);
  const shifted = new Date(time + ctx.shiftDays * 86_400_000).toISOString();
  return match[4] ? shifted : shifted.slice(0, 10);
}

function maskText(ctx: Context, value: string): string {
  return maskPatterns(value, (kind) => count(ctx, `masked ${kind}`));
}

function zip3(ctx: Context, postalCode: string): string {
  count(ctx, 'postal codes');
  return zip3Of(postalCode);
}

function address(ctx: Context, value: Record<string, unknown>): Record<string, unknown> {
  count(ctx, 'addresses');
  const out: Record<string, unknown> = {};
  if (typeof value['state'] === 'string') out['state'] = value['state'];
  if (typeof value['country'] === 'string') out['country'] = value['country'];
  if (typeof value['postalCode'] === 'string') out['postalCode'] = zip3(ctx, value['postalCode']);
  if (typeof value['use'] === 'string') out['use'] = value['use'];
  return out;
}

/** Rewrites a reference to the new id of what it points at; undefined when it cannot be kept. */
function reference(ctx: Context, value: string): string | undefined {
  if (value.startsWith('urn:uuid:')) return `urn:uuid:${newId(ctx, '*', value.slice(9))}`;
  if (value.startsWith('#')) return value;
  const conditional = /^([A-Z][A-Za-z]+)\?identifier=(.*)$/.exec(value);
  if (conditional) {
    let identifier: string;
    try {
      identifier = decodeURIComponent(conditional[2]!);
    } catch {
      identifier = conditional[2]!; // not %-encoded text: matches no identifier, so the reference goes
    }
    const target = ctx.ids.get(`identifier|${identifier}`);
    count(ctx, 'references');
    return target ? `${conditional[1]}/${target}` : undefined;
  }
  // `[^]*` (not `.*`): the history part always reaches the end, so no start position rescans it.
  const literal = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[^]*)?$/.exec(value);
  if (literal) {
    count(ctx, 'references');
    return `${literal[1]}/${newId(ctx, literal[1]!, literal[2]!)}`;
  }
  return /^[A-Z][A-Za-z]+$/.test(value) ? value : undefined;
}

const isHumanName = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && ('family' in v || 'given' in v || ('text' in v && 'use' in v));

function walk(ctx: Context, value: unknown, key: string): unknown {
  if (Array.isArray(value)) {
    const out = value.map((v) => walk(ctx, v, key)).filter((v) => v !== undefined);
    return out.length > 0 ? out : undefined;
  }
  if (typeof value === 'string') {
    if (key === 'reference') return reference(ctx, value);
    if (key === 'fullUrl') return reference(ctx, value);
    if (CODED.has(key)) return value;
    if (DATE.test(value)) return transformDate(ctx, value);
    return maskText(ctx, value);
  }
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  // An extension that names or locates someone goes whole.
  if (
    (key === 'extension' || key === 'modifierExtension') &&
    typeof object['url'] === 'string' &&
    /mothersMaidenName|geolocation|patient-birthTime/.test(object['url'])
  ) {
    count(ctx, 'identifying extensions');
    return undefined;
  }
  if (typeof object['contentType'] === 'string' && ('data' in object || 'url' in object)) {
    count(ctx, 'attachments');
    const { data: _data, url: _url, ...rest } = object;
    return walk(ctx, rest, key);
  }
  if (AGE_KEYS.test(key) && typeof object['value'] === 'number' && object['value'] > 89) {
    count(ctx, 'ages over 89');
    return { ...object, value: 90, comparator: '>=' };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object)) {
    if (k === 'text' && typeof v === 'object' && v !== null && 'div' in v) {
      count(ctx, 'narratives');
      continue;
    }
    if (k === 'telecom' || k === 'photo') {
      count(
        ctx,
        k === 'telecom' ? 'contacts (phone, fax, email, URL)' : 'photos',
        Array.isArray(v) ? v.length : 1,
      );
      continue;
    }
    if (k === 'identifier' || k === 'serialNumber' || k === 'udiCarrier' || k === 'lotNumber') {
      const replaced = identifiers(ctx, v, k);
      if (replaced !== undefined) out[k] = replaced;
      continue;
    }
    if (k === 'name' || k === 'alias') {
      if (isHumanName(Array.isArray(v) ? v[0] : v) || object['resourceType'] === 'Organization') {
        count(ctx, 'names', Array.isArray(v) ? v.length : 1);
        continue;
      }
    }
    // A Reference's display is often a person's or a place's name; a Coding's (system, code) is terminology.
    if (k === 'display' && !('system' in object || 'code' in object)) {
      count(ctx, 'reference displays');
      continue;
    }
    if (k === 'address' || k === 'valueAddress') {
      // An address that is not an object is not an Address: it goes, as everything below the state does.
      const list = (Array.isArray(v) ? v : [v]).flatMap((a) =>
        typeof a === 'object' && a !== null && !Array.isArray(a)
          ? [address(ctx, a as Record<string, unknown>)]
          : [],
      );
      if (list.length > 0) out[k] = Array.isArray(v) ? list : list[0];
      continue;
    }
    // Contained resources keep their local ids: `#id` references point at them.
    if (
      k === 'id' &&
      typeof v === 'string' &&
      typeof object['resourceType'] === 'string' &&
      key !== 'contained'
    ) {
      out[k] = newId(ctx, object['resourceType'], v);
      continue;
    }
    if (k === 'url' && typeof v === 'string' && key === 'request') {
      out[k] = reference(ctx, v) ?? object['resourceType'] ?? v.split(/[/?]/)[0];
      continue;
    }
    const walked = walk(ctx, v, k);
    if (walked !== undefined) out[k] = walked;
  }
  return out;
}

function identifiers(ctx: Context, value: unknown, key: string): unknown {
  const list = Array.isArray(value) ? value : [value];
  count(ctx, 'identifiers', list.length);
  if (ctx.options.mode === 'safe-harbor') return undefined;
  const out = list.map((i) => {
    if (typeof i !== 'object' || i === null) return undefined;
    const id = i as Record<string, unknown>;
    const system = typeof id['system'] === 'string' ? id['system'] : '';
    return {
      ...(system && { system }),
      ...(id['type'] !== undefined && { type: id['type'] }),
      value: hmac(ctx.options.key!, `identifier|${system}|${JSON.stringify(id['value'] ?? '')}`).slice(0, 32),
    };
  });
  return key === 'identifier' ? out : undefined;
}

/** The age in whole years at `at` of someone born on `birthDate` (YYYY[-MM[-DD]]). */
function ageAt(birthDate: string, at: Date): number {
  const [y, m = 1, d = 1] = birthDate.split('-').map(Number);
  let age = at.getUTCFullYear() - y!;
  if (at.getUTCMonth() + 1 < m || (at.getUTCMonth() + 1 === m && at.getUTCDate() < d)) age--;
  return age;
}

/**
 * The input's shape, checked before it is walked: a resource object, and for a Bundle an `entry`
 * array of objects whose `resource`, when present, is a resource object. Errors name the path.
 */
function assertDeidShape(input: unknown): asserts input is {
  resourceType: string;
  entry?: { resource?: Record<string, unknown> }[];
} {
  if (!isJsonObject(input) || typeof input['resourceType'] !== 'string') {
    throw new GalenError('invalid_input', 'expected a FHIR resource or Bundle (an object with resourceType)');
  }
  if (jsonDeeperThan(input, MAX_DEID_DEPTH)) {
    throw new GalenError('invalid_input', `the resource nests deeper than ${MAX_DEID_DEPTH} levels`);
  }
  if (input['resourceType'] !== 'Bundle' || input['entry'] === undefined) return;
  const entries = input['entry'];
  if (!Array.isArray(entries)) {
    throw new GalenError('invalid_input', 'Bundle.entry must be an array of entry objects');
  }
  entries.forEach((entry: unknown, i) => {
    if (!isJsonObject(entry)) throw new GalenError('invalid_input', `Bundle.entry[${i}] must be an object`);
    const resource = entry['resource'];
    if (resource !== undefined && (!isJsonObject(resource) || typeof resource['resourceType'] !== 'string')) {
      throw new GalenError(
        'invalid_input',
        `Bundle.entry[${i}].resource must be a resource (an object with resourceType)`,
      );
    }
  });
}

/** De-identifies one Bundle (or a single resource); the input is not changed. */
export function deidentifyFhir(
  input: unknown,
  options: DeidOptions,
): { output: unknown; report: DeidReport } {
  assertDeidShape(input);
  const resource = input;
  if (options.mode === 'pseudonymous' && (!options.key || options.key.length < 16)) {
    throw new GalenError('invalid_input', 'pseudonymous de-identification needs a key of at least 16 bytes');
  }
  const resources =
    resource.resourceType === 'Bundle'
      ? (resource.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []))
      : [resource as Record<string, unknown>];
  const patient = resources.find((r) => r['resourceType'] === 'Patient');
  const patientId = typeof patient?.['id'] === 'string' ? patient['id'] : undefined;
  const ctx: Context = {
    options,
    report: {},
    ids: new Map(),
    shiftDays:
      options.mode === 'pseudonymous' && patientId
        ? (parseInt(hmac(options.key!, `shift|${patientId}`).slice(0, 8), 16) % 365) - 182
        : 0,
  };
  // New ids first, so conditional references (Type?identifier=system|value) find their targets.
  for (const r of resources) {
    if (typeof r['id'] !== 'string' || typeof r['resourceType'] !== 'string') continue;
    const id = newId(ctx, r['resourceType'], r['id']);
    for (const i of (Array.isArray(r['identifier']) ? r['identifier'] : []) as unknown[]) {
      if (!isJsonObject(i) || typeof i['value'] !== 'string') continue;
      const system = typeof i['system'] === 'string' ? i['system'] : '';
      ctx.ids.set(`identifier|${system}|${i['value']}`, id);
    }
  }
  const output = walk(ctx, input, '') as Record<string, unknown>;
  // Over 89: no birth date, only the 90+ group (Safe Harbor's single category).
  const at = options.now ?? new Date();
  const out =
    output['resourceType'] === 'Bundle'
      ? ((output['entry'] ?? []) as { resource?: Record<string, unknown> }[]).map((e) => e.resource)
      : [output];
  for (const r of out) {
    if (r?.['resourceType'] !== 'Patient' || typeof patient?.['birthDate'] !== 'string') continue;
    const deceased =
      typeof patient['deceasedDateTime'] === 'string' ? new Date(patient['deceasedDateTime']) : at;
    if (ageAt(patient['birthDate'], deceased) > 89) {
      delete r['birthDate'];
      r['extension'] = [
        ...((r['extension'] as unknown[]) ?? []),
        { url: 'urn:galen:deid:age-group', valueString: '90+' },
      ];
      count(ctx, 'ages over 89');
    }
  }
  return { output, report: ctx.report };
}
