import { readFileSync } from 'node:fs';
import type { Bundle } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { Signature } from '../core/index.js';
import { ageOn, durationMs, evaluateFeatures, parseFeatureMap, patientData } from './index.js';
import { dataUrl } from '../../test/helpers/data.js';

const FHIR = dataUrl('fhir/');
const bundle = (file: string): Bundle => JSON.parse(readFileSync(new URL(file, FHIR), 'utf8')) as Bundle;
const HIPOLITO = 'Hipolito984_Schulist381_6b9c211c-2c38-3955-43a0-4d285c714fab.json';
const ROLAND = 'Roland928_Nienow652_13b1a0f2-dceb-37a2-f32b-f0ca6e3b9925.json';

const column = (name: string, datatype: 'FP32' | 'BYTES' = 'FP32') => ({ name, datatype, shape: [-1, 1] });
const signature: Signature = {
  inputs: [
    column('age'),
    column('sex'),
    column('systolic'),
    column('heart_rate'),
    column('temperature_f'),
    column('covid'),
    column('immunizations'),
    column('gender_text', 'BYTES'),
  ],
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
};
const LOINC = 'http://loinc.org';
const map = parseFeatureMap(
  {
    inputs: {
      age: { source: { from: 'patient', field: 'age' } },
      sex: { source: { from: 'patient', field: 'sex' }, values: { male: 1, female: 0 } },
      systolic: {
        source: {
          from: 'observation',
          codes: [{ system: LOINC, code: '85354-9' }],
          component: { system: LOINC, code: '8480-6' },
          aggregate: 'latest',
          unit: 'mm[Hg]',
        },
      },
      heart_rate: {
        source: {
          from: 'observation',
          codes: [{ system: LOINC, code: '8867-4' }],
          aggregate: 'mean',
          window: 'P1Y',
        },
        missing: { policy: 'value', value: 80 },
      },
      temperature_f: {
        source: {
          from: 'observation',
          codes: [{ system: LOINC, code: '8310-5' }],
          aggregate: 'max',
          unit: '[degF]',
        },
        missing: { policy: 'refuse' },
      },
      covid: {
        source: { from: 'condition', codes: [{ system: 'http://snomed.info/sct', code: '840539006' }] },
      },
      immunizations: {
        source: { from: 'fhirpath', expression: 'Bundle.entry.resource.ofType(Immunization).count()' },
      },
      gender_text: { source: { from: 'patient', field: 'sex' } },
    },
  },
  signature,
);

describe('feature maps over Synthea bundles', () => {
  it('builds each input from the patient, codes with aggregates and units, conditions and FHIRPath', () => {
    const data = patientData(bundle(HIPOLITO));
    const at = new Date('2020-03-10T00:00:00Z');
    const { values, basis, missing, refused } = evaluateFeatures(map, data, at);
    expect(values['age']).toBe(10); // born 2009-05-02
    expect(values['sex']).toBe(1);
    expect(values['gender_text']).toBe('male');
    expect(values['systolic']).toBe(138);
    expect(values['heart_rate']).toBeCloseTo(81.245, 6);
    expect(values['temperature_f']).toBeCloseTo(39.654 * 1.8 + 32, 6); // Cel → [degF]
    expect(values['covid']).toBe(1);
    expect(values['immunizations']).toBe(18);
    expect(missing).toEqual([]);
    expect(refused).toEqual([]);
    expect(basis).toContain('Patient/6b9c211c-2c38-3955-43a0-4d285c714fab');
    expect(basis.some((b) => b.startsWith('Observation/'))).toBe(true);
    expect(basis.some((b) => b.startsWith('Condition/'))).toBe(true);
  });

  it('ignores data outside the window or after the evaluation time, and applies the missing policies', () => {
    const data = patientData(bundle(HIPOLITO));
    const before = evaluateFeatures(map, data, new Date('2020-02-01T00:00:00Z')); // before every vital sign
    expect(before.values['heart_rate']).toBe(80); // policy value
    expect(before.values['systolic']).toBeNull(); // policy missing
    expect(before.refused).toEqual(['temperature_f']);
    expect(before.values['covid']).toBe(0); // no condition yet: exists is 0, not missing
    const years = evaluateFeatures(map, data, new Date('2022-03-10T00:00:00Z'));
    expect(years.values['heart_rate']).toBe(80); // outside the one-year window
    expect(years.values['systolic']).toBe(138); // all time

    const empty = evaluateFeatures(map, patientData(bundle(ROLAND)), new Date('2020-03-10T00:00:00Z'));
    expect(empty.missing).toEqual(expect.arrayContaining(['systolic', 'heart_rate', 'temperature_f']));
    expect(empty.values['age']).toBe(10); // born 2009-08-06
  });

  it('refuses maps that cannot feed the model, saying why', () => {
    const bad = (inputs: unknown) => () => parseFeatureMap({ inputs }, signature);
    expect(bad({})).toThrow(/leaves input\(s\) age, sex, .* unmapped/);
    expect(bad({ nope: { source: { from: 'patient', field: 'age' } } })).toThrow(
      /"nope": the model has no such input/,
    );
    expect(bad({ sex: { source: { from: 'patient', field: 'sex' } } })).toThrow(
      /"sex": the input takes numbers, and this source gives text; map them with "values"/,
    );
    expect(bad({ age: { source: { from: 'observation', codes: [], aggregate: 'latest' } } })).toThrow(
      /codes is a list of at least one/,
    );
    expect(
      bad({
        age: { source: { from: 'observation', code: { system: LOINC, code: 'x' }, aggregate: 'latest' } },
      }),
    ).toThrow(/codes is a list of at least one/);
    expect(
      bad({ age: { source: { from: 'observation', codes: [{ system: LOINC, code: 'x' }], component: [] } } }),
    ).toThrow(/component is \{"system"/);
    expect(
      bad({
        age: { source: { from: 'observation', codes: [{ system: LOINC, code: 'x' }], unit: 'furlongs' } },
      }),
    ).toThrow(/not a UCUM unit/);
    expect(
      bad({
        age: { source: { from: 'observation', codes: [{ system: LOINC, code: 'x' }], window: '1 year' } },
      }),
    ).toThrow(/not an ISO 8601 duration/);
    expect(bad({ age: { source: { from: 'lab' } } })).toThrow(/source.from is "lab"/);
    expect(
      bad({
        gender_text: { source: { from: 'patient', field: 'sex' }, missing: { policy: 'value', value: 1 } },
      }),
    ).toThrow(/missing value 1 is not a string/);
  });

  it('refuses a Bundle without exactly one patient, and units that do not convert', () => {
    expect(() => patientData({ resourceType: 'Bundle', type: 'collection', entry: [] })).toThrow(
      /holds 0 Patient resources/,
    );
    expect(() => patientData({ resourceType: 'Patient' })).toThrow(
      /expected a Bundle, got resourceType "Patient"/,
    );
    const wrongUnit = parseFeatureMap(
      {
        inputs: Object.fromEntries(
          signature.inputs.map((i) => [
            i.name,
            i.name === 'systolic'
              ? {
                  source: {
                    from: 'observation',
                    codes: [{ system: LOINC, code: '29463-7' }],
                    unit: 'mm[Hg]',
                  },
                }
              : i.datatype === 'BYTES'
                ? { source: { from: 'patient', field: 'sex' } }
                : { source: { from: 'patient', field: 'age' } },
          ]),
        ),
      },
      signature,
    );
    expect(() => evaluateFeatures(wrongUnit, patientData(bundle(HIPOLITO)), new Date('2020-03-10'))).toThrow(
      /input "systolic": an Observation is in "kg", which does not convert to mm\[Hg\]/,
    );
  });

  describe("errors never repeat the patient's data", () => {
    const hipolito = bundle(HIPOLITO);
    // Hipolito's names: each must stay out of every message.
    const PHI = ['Hipolito', 'Schulist381', 'Jane', '555-12-3456'];
    const messageOf = (run: () => unknown): string => {
      try {
        run();
      } catch (err) {
        const message = (err as Error).message;
        for (const part of PHI) expect(message).not.toContain(part);
        return message;
      }
      throw new Error('no error');
    };
    /** A map whose every input reads the patient's age or sex, but `name`, which reads `mapping`. */
    const mapWith = (name: string, mapping: unknown) =>
      parseFeatureMap(
        {
          inputs: Object.fromEntries(
            signature.inputs.map((i) => [
              i.name,
              i.name === name
                ? mapping
                : { source: { from: 'patient', field: i.datatype === 'BYTES' ? 'sex' : 'age' } },
            ]),
          ),
        },
        signature,
      );
    const family = 'Bundle.entry.resource.ofType(Patient).name.family.first()';
    const at = new Date('2020-03-10');

    it('a value the map does not cover is named by its kind', () => {
      const m = mapWith('sex', { source: { from: 'fhirpath', expression: family }, values: { Smith: 1 } });
      expect(messageOf(() => evaluateFeatures(m, patientData(hipolito), at))).toBe(
        'input "sex": the patient\'s value (a string) is not one the feature map\'s "values" cover (Smith); add it to "values", or map it to a number',
      );
    });

    it('a FHIRPath expression that fails on the data says so without the values it met', () => {
      // fhirpath's own message here is "Cannot convert Schulist381 to a number".
      const m = mapWith('age', { source: { from: 'fhirpath', expression: `${family} + 1` } });
      expect(messageOf(() => evaluateFeatures(m, patientData(hipolito), at))).toMatch(
        /^input "age": the FHIRPath expression failed on this patient's data/,
      );
      const syntax = mapWith('age', { source: { from: 'fhirpath', expression: 'Patient.name.(' } });
      expect(messageOf(() => evaluateFeatures(syntax, patientData(hipolito), at))).toMatch(
        /^input "age": the FHIRPath expression does not parse: line: 1; column: 13/,
      );
    });

    it("an Observation about someone else is named by its place, not by its id or the patient's", () => {
      const observationAt = hipolito.entry!.findIndex((e) => e.resource?.resourceType === 'Observation');
      const about = (reference: string | undefined) => ({
        ...hipolito,
        entry: hipolito.entry!.map((e, i) =>
          i === observationAt
            ? {
                ...e,
                resource: {
                  ...e.resource!,
                  id: 'Jane-Roe-555-12-3456',
                  subject: reference === undefined ? undefined : { reference },
                },
              }
            : e,
        ),
      });
      expect(messageOf(() => patientData(about('Patient/Jane-Roe-555-12-3456')))).toBe(
        `the Observation in Bundle.entry[${observationAt}] is about another subject than the Bundle's Patient (its subject.reference names neither Patient/<id> nor the Patient entry's fullUrl); a prediction reads one patient's data`,
      );
      expect(messageOf(() => patientData(about(undefined)))).toBe(
        `the Observation in Bundle.entry[${observationAt}] has no subject; every Observation and Condition must reference the Bundle's patient`,
      );
    });
  });

  it('computes ages and durations', () => {
    expect(ageOn('2009-05-02', new Date('2020-05-01T12:00:00Z'))).toBe(10);
    expect(ageOn('2009-05-02', new Date('2020-05-02T00:00:00Z'))).toBe(11);
    expect(ageOn('1950', new Date('2020-01-01'))).toBe(70);
    expect(durationMs('P30D')).toBe(30 * 86_400_000);
    expect(durationMs('PT24H')).toBe(86_400_000);
  });
});
