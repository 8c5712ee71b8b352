/**
 * The feature map on the wire (`PUT` and `GET /api/v1/models/{m}/versions/{v}/feature-map`): every
 * field `parseFeatureMap` (src/fhir/feature-map.ts) takes, so the OpenAPI document describes each
 * one and the edge refuses a field the product does not know (a misspelt `tresholds` is an error,
 * not ignored). A source is one of four kinds told apart by `from` (a discriminated `oneOf`, so a
 * bad source is reported against its own kind only). What JSON Schema cannot say is checked by the
 * parser against the version's signature: a UCUM unit, warning ≤ critical, every input mapped, an
 * input's datatype against its source.
 */
import Type from 'typebox';
import type { TSchema } from 'typebox';

const NumberOrText = Type.Union([Type.Number(), Type.String()]);

const coding = (description?: string) =>
  Type.Object(
    {
      system: Type.String({
        description: 'the code system, e.g. http://loinc.org or http://snomed.info/sct',
      }),
      code: Type.String({ minLength: 1, description: 'the code, e.g. 8480-6' }),
    },
    { additionalProperties: false, ...(description !== undefined && { description }) },
  );

const Codes = Type.Array(coding(), {
  minItems: 1,
  description: 'any of these codes (matched on system and code)',
});

const Window = Type.String({
  // The same grammar as durationMs in src/fhir/feature-map.ts.
  pattern: '^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+S)?)?$',
  description:
    'ISO 8601 duration back from the time of the call, e.g. P1Y, P30D, PT24H (months count 30 days, years 365.25); default: all time',
});

const PatientSource = Type.Object(
  {
    from: Type.Literal('patient'),
    field: Type.Enum(['age', 'sex'], {
      description:
        'age: whole years from Patient.birthDate at the time of the call; sex: Patient.gender as text (male, female, other, unknown), to map with "values"',
    }),
  },
  { additionalProperties: false, description: 'a field of the Patient resource' },
);

const ObservationSource = Type.Object(
  {
    from: Type.Literal('observation'),
    codes: Codes,
    component: Type.Optional(
      coding(
        'for a panel (e.g. blood pressure 85354-9): the component whose value is read (e.g. systolic 8480-6)',
      ),
    ),
    aggregate: Type.Optional(
      Type.Enum(['latest', 'earliest', 'mean', 'min', 'max', 'count', 'exists'], {
        default: 'latest',
        description:
          'how the matching Observations become one value; count and exists (1 or 0) also count Observations without a value',
      }),
    ),
    window: Type.Optional(Window),
    unit: Type.Optional(
      Type.String({
        description:
          'the UCUM unit the model takes (e.g. mm[Hg], mg/dL, kg, Cel); quantities in other units are converted, and a call with one that does not convert is refused',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'the valueQuantity of Observations with one of the codes, effective within the window (entered-in-error and cancelled ones are skipped)',
  },
);

const ConditionSource = Type.Object(
  {
    from: Type.Literal('condition'),
    codes: Codes,
    aggregate: Type.Optional(
      Type.Enum(['exists', 'count'], {
        default: 'exists',
        description: 'exists: 1 when a matching Condition is recorded, else 0; count: how many',
      }),
    ),
    window: Type.Optional(Window),
    activeOnly: Type.Optional(
      Type.Boolean({
        description: 'count only Conditions whose clinicalStatus is active, recurrence or relapse',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Conditions with one of the codes (refuted and entered-in-error ones are skipped)',
  },
);

const FhirPathSource = Type.Object(
  {
    from: Type.Literal('fhirpath'),
    expression: Type.String({
      pattern: '\\S',
      description:
        'a FHIRPath expression evaluated on the Bundle (R4), e.g. Bundle.entry.resource.ofType(Immunization).count()',
    }),
    aggregate: Type.Optional(
      Type.Enum(['first', 'last', 'count', 'exists', 'mean', 'min', 'max'], {
        default: 'first',
        description: "how the expression's results become one value",
      }),
    ),
    reads: Type.Optional(
      Type.Object(
        { observation: Type.Optional(Codes), condition: Type.Optional(Codes) },
        {
          additionalProperties: false,
          minProperties: 1,
          description:
            'the Observation and Condition codes the expression reads: CDS Hooks prefetch (and the fetch from the EHR) brings them',
        },
      ),
    ),
  },
  { additionalProperties: false, description: "any FHIRPath expression over the patient's Bundle" },
);

/**
 * One of the four sources, chosen by `from`. A discriminated `oneOf` (TypeBox's union is
 * `anyOf`): the server's validator then checks only the kind `from` names.
 */
const Source = Type.Unsafe<unknown>({
  type: 'object',
  required: ['from'],
  properties: {
    from: Type.Enum(['patient', 'observation', 'condition', 'fhirpath']),
  },
  oneOf: [PatientSource, ObservationSource, ConditionSource, FhirPathSource],
  discriminator: { propertyName: 'from' },
  description: 'where the value comes from',
});

const Missing = Type.Unsafe<unknown>({
  type: 'object',
  required: ['policy'],
  properties: { policy: Type.Enum(['missing', 'value', 'refuse']) },
  oneOf: [
    Type.Object({ policy: Type.Literal('missing') }, { additionalProperties: false }),
    Type.Object({ policy: Type.Literal('value'), value: NumberOrText }, { additionalProperties: false }),
    Type.Object({ policy: Type.Literal('refuse') }, { additionalProperties: false }),
  ],
  discriminator: { propertyName: 'policy' },
  default: { policy: 'missing' },
  description:
    'when the data has nothing for the input: "missing" sends a missing value for the model\'s own imputation (the default), "value" sends the given value, "refuse" answers 412 (required data unavailable)',
});

const Mapping = Type.Object(
  {
    source: Source,
    values: Type.Optional(
      Type.Record(Type.String(), NumberOrText, {
        description:
          'the source\'s text (or number, as text) mapped to what the model takes, e.g. {"male": 1, "female": 0}; a value not listed is refused',
      }),
    ),
    missing: Type.Optional(Missing),
  },
  { additionalProperties: false },
);

/** A feature map as `PUT` takes it. */
export const FeatureMapSchema = Type.Object(
  {
    inputs: Type.Record(Type.String(), Mapping, {
      description:
        "one entry per model input, named as in the version's signature; every input must be mapped",
    }),
    outcome: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        pattern: '\\S',
        description:
          "what the model predicts, in a clinician's words: the RiskAssessment's outcome and the CDS card's summary (default: the predicted class's label)",
      }),
    ),
    thresholds: Type.Optional(
      Type.Object(
        {
          warning: Type.Number({ minimum: 0, maximum: 1 }),
          critical: Type.Number({ minimum: 0, maximum: 1 }),
        },
        {
          additionalProperties: false,
          description:
            "probabilities from which a CDS card's indicator is warning and critical, warning ≤ critical (default 0.2 and 0.5)",
        },
      ),
    ),
    links: Type.Optional(
      Type.Array(
        Type.Object(
          {
            label: Type.String({ minLength: 1, maxLength: 80 }),
            url: Type.String({ pattern: '^https?://', description: 'an http or https URL' }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 10, description: 'links shown on every CDS card of this version' },
      ),
    ),
  },
  { additionalProperties: false },
);

/** A stored feature map, as `PUT` and `GET` answer it (defaults filled in). */
export const FeatureMapViewSchema: TSchema = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  map: FeatureMapSchema,
  updatedAt: Type.String({ format: 'date-time' }),
  updatedBy: Type.String({ description: 'the id of the key that set it' }),
});
