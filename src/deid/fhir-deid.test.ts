/**
 * Safe Harbor on the Synthea bundles in data/fhir/: every identifier of the 18 kinds found in an original
 * is enumerated, and none survives in the de-identified output; the clinical content does.
 */
import { readFile, readdir } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { deidentifyFhir } from './index.js';
import { dataUrl } from '../../test/helpers/data.js';

const FHIR = dataUrl('fhir/');

/** What an original holds of each identifier kind, as the strings that must not survive. */
function identifiersOf(bundle: any): Record<string, Set<string>> {
  const kinds: Record<string, Set<string>> = {};
  const add = (kind: string, v: unknown) => {
    if (typeof v === 'string' && v.length >= 3) (kinds[kind] ??= new Set()).add(v);
    if (typeof v === 'number') (kinds[kind] ??= new Set()).add(String(v));
  };
  // A reference's display names a person or a place when it points at one.
  const types = new Map<string, string>(
    (bundle.entry ?? []).map((e: any) => [e.resource.id, e.resource.resourceType] as [string, string]),
  );
  const PEOPLE_AND_PLACES = new Set(['Patient', 'Practitioner', 'RelatedPerson', 'Organization', 'Location']);
  const pointsAtSomeone = (ref: string): boolean => {
    const type = /^([A-Z][A-Za-z]+)[/?]/.exec(ref)?.[1] ?? types.get(ref.replace(/^urn:uuid:/, ''));
    return type !== undefined && PEOPLE_AND_PLACES.has(type);
  };
  const visit = (node: any, key: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, key));
    if (typeof node === 'string') {
      if (/^\d{4}-\d{2}-\d{2}/.test(node)) add('3 dates (below the year)', node.slice(0, 10));
      if (/^https?:\/\//.test(node) && key === 'value') add('14 URLs', node);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    if (key === 'name' && (node.family || node.given)) {
      add('1 names', node.family);
      (node.given ?? []).forEach((g: string) => add('1 names', g));
    }
    if (node.url?.endsWith('mothersMaidenName')) add('1 names', node.valueString);
    if (key === 'address' || key === 'valueAddress') {
      (node.line ?? []).forEach((l: string) => add('2 geography', l));
      add('2 geography', node.city);
      add('2 geography', node.district);
      if (node.postalCode) add('2 geography', node.postalCode);
    }
    if (node.url === 'latitude' || node.url === 'longitude') add('2 geography', node.valueDecimal);
    if (key === 'telecom') {
      const kind = { phone: '4 telephone', fax: '5 fax', email: '6 email', url: '14 URLs' }[
        node.system as string
      ];
      add(kind ?? '4 telephone', node.value);
    }
    if (key === 'identifier') {
      const code = node.type?.coding?.[0]?.code;
      const kind =
        code === 'SS'
          ? '7 SSN'
          : code === 'MR'
            ? '8 MRN'
            : code === 'DL' || code === 'PPN'
              ? '11 licence/passport'
              : '18 other ids';
      add(kind, node.value);
    }
    if (key === 'serialNumber' || key === 'udiCarrier') add('13 device ids', JSON.stringify(node));
    if (key === 'photo') add('17 photos', node.data ?? node.url);
    // Contained resources' local ids ("referral", "coverage") label, they do not identify.
    if (typeof node.resourceType === 'string' && typeof node.id === 'string' && key !== 'contained')
      add('18 other ids', node.id);
    if (typeof node.div === 'string') {
      const seed = /Person seed: (-?\d+)/.exec(node.div)?.[1];
      if (seed) add('18 other ids', seed);
    }
    if (typeof node.display === 'string' && node.reference && pointsAtSomeone(node.reference))
      add('1 names', node.display);
    for (const [k, v] of Object.entries(node)) visit(v, k);
  };
  visit(bundle, '');
  return kinds;
}

describe('FHIR de-identification (Safe Harbor) on Synthea', () => {
  let bundles: [string, any][];
  beforeAll(async () => {
    const names = (await readdir(FHIR)).filter((n) => n.endsWith('.json'));
    bundles = await Promise.all(
      names.map(async (n) => [n, JSON.parse(await readFile(new URL(n, FHIR), 'utf8'))] as [string, any]),
    );
    expect(bundles).toHaveLength(10);
  });

  it('leaves none of the identifiers the originals hold, of any kind', () => {
    const seen = new Set<string>();
    for (const [file, bundle] of bundles) {
      const { output, report } = deidentifyFhir(bundle, { mode: 'safe-harbor', now: new Date('2026-11-24') });
      const text = JSON.stringify(output);
      for (const [kind, values] of Object.entries(identifiersOf(bundle))) {
        seen.add(kind);
        for (const value of values)
          expect(text.includes(value), `${file}: ${kind} "${value}" survived`).toBe(false);
      }
      // No dates below the year anywhere, no names, contacts or identifiers left as elements.
      expect(text).not.toMatch(/"\d{4}-\d{2}/);
      expect(text).not.toMatch(/"(family|given|telecom|identifier|photo|line|city)"/);
      expect(report['names']).toBeGreaterThan(0);
      expect(report['dates']).toBeGreaterThan(0);
    }
    // The Synthea data holds these kinds; the rest (fax, email, vehicles, devices, photos, IPs, biometrics) it has none of.
    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        '1 names',
        '2 geography',
        '3 dates (below the year)',
        '4 telephone',
        '7 SSN',
        '8 MRN',
        '18 other ids',
      ]),
    );
  });

  it('keeps the clinical content, years, state and 3-digit ZIP, and the links between resources', () => {
    const [, bundle] = bundles.find(([n]) => n.startsWith('Hipolito'))!;
    const { output } = deidentifyFhir(bundle, { mode: 'safe-harbor', now: new Date('2026-11-24') });
    const out = output as any;
    const patient = out.entry.find((e: any) => e.resource.resourceType === 'Patient').resource;
    expect(patient).toMatchObject({
      gender: 'male',
      birthDate: '2009',
      address: [{ state: 'Massachusetts', country: 'US' }],
    });
    const observations = out.entry
      .filter((e: any) => e.resource.resourceType === 'Observation')
      .map((e: any) => e.resource);
    expect(observations).toHaveLength(16);
    expect(observations[0].code.coding[0].system).toBe('http://loinc.org');
    // Every reference to the patient points at the patient's new id.
    const refs = new Set(observations.map((o: any) => o.subject.reference));
    expect(refs).toEqual(new Set([`urn:uuid:${patient.id}`]));
    expect(out.entry.find((e: any) => e.resource.resourceType === 'Patient').fullUrl).toBe(
      `urn:uuid:${patient.id}`,
    );
  });

  it('pseudonymises with a key: stable ids and shifted dates, intervals kept', () => {
    const [, bundle] = bundles.find(([n]) => n.startsWith('Hipolito'))!;
    const key = Buffer.alloc(32, 7);
    const a = deidentifyFhir(bundle, { mode: 'pseudonymous', key }).output as any;
    const b = deidentifyFhir(bundle, { mode: 'pseudonymous', key }).output as any;
    const other = deidentifyFhir(bundle, { mode: 'pseudonymous', key: Buffer.alloc(32, 8) }).output as any;
    const patientOf = (o: any) => o.entry.find((e: any) => e.resource.resourceType === 'Patient').resource;
    expect(patientOf(a).id).toBe(patientOf(b).id);
    expect(patientOf(a).id).not.toBe(patientOf(other).id);
    expect(patientOf(a).identifier.map((i: any) => i.value)).not.toContain('999-15-7505');
    const original = bundle.entry
      .filter((e: any) => e.resource.resourceType === 'Encounter')
      .map((e: any) => Date.parse(e.resource.period.start));
    const shifted = a.entry
      .filter((e: any) => e.resource.resourceType === 'Encounter')
      .map((e: any) => Date.parse(e.resource.period.start));
    expect(shifted[0]).not.toBe(original[0]);
    expect(shifted[1] - shifted[0]).toBe(original[1] - original[0]);
    expect(patientOf(a).birthDate).not.toBe('2009-05-02');
  });

  it('groups a patient over 89 as 90+, without a birth date', () => {
    const [, bundle] = bundles[0]!;
    const old = structuredClone(bundle);
    old.entry.find((e: any) => e.resource.resourceType === 'Patient').resource.birthDate = '1930-01-15';
    const patient = (
      deidentifyFhir(old, { mode: 'safe-harbor', now: new Date('2026-11-24') }).output as any
    ).entry.find((e: any) => e.resource.resourceType === 'Patient').resource;
    expect(patient.birthDate).toBeUndefined();
    expect(patient.extension).toContainEqual({ url: 'urn:galen:deid:age-group', valueString: '90+' });
    expect(JSON.stringify(patient)).not.toContain('1930');
  });
});
