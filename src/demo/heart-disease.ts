/**
 * The demo CDS service: `heart-disease`, a logistic regression Galen trains at first start from
 * four Cleveland heart-disease columns that a patient's FHIR record can supply (age, sex, resting
 * systolic pressure, total cholesterol), with a feature map that builds them from Patient and
 * vital-sign/lab Observations. Aliased `production`, it is published as the CDS Hooks services
 * `heart-disease--production` (patient-view) and `…--order-select`.
 */
import { createReadStream } from 'node:fs';
import type { Galen } from '../app/index.js';
import { PRODUCTION_ALIAS } from '../core/index.js';
import type { Actor } from '../core/index.js';
import { trainModel } from '../jobs/index.js';

export const HEART_DEMO_MODEL = 'heart-disease';
export const HEART_DEMO_CSV_URL = new URL(
  '../../data/clinical/heart_cleveland_demographics.csv',
  import.meta.url,
);
const LOINC = 'http://loinc.org';

/**
 * How each input comes from FHIR. Synthea patients have all but cholesterol (left to the model's
 * imputation); the shared Synthea records are from 2020, hence the ten-year windows.
 */
export const HEART_DEMO_FEATURE_MAP = {
  outcome: 'coronary artery disease (≥ 50% narrowing)',
  thresholds: { warning: 0.3, critical: 0.6 },
  links: [
    {
      label: 'Training data: UCI Heart Disease (Cleveland)',
      url: 'https://archive.ics.uci.edu/dataset/45/heart+disease',
    },
  ],
  inputs: {
    age: { source: { from: 'patient', field: 'age' }, missing: { policy: 'refuse' } },
    sex: {
      source: { from: 'patient', field: 'sex' },
      values: { male: 1, female: 0 },
      missing: { policy: 'refuse' },
    },
    trestbps: {
      source: {
        from: 'observation',
        codes: [{ system: LOINC, code: '85354-9' }],
        component: { system: LOINC, code: '8480-6' },
        aggregate: 'latest',
        window: 'P10Y',
        unit: 'mm[Hg]',
      },
    },
    chol: {
      source: {
        from: 'observation',
        codes: [{ system: LOINC, code: '2093-3' }],
        aggregate: 'latest',
        window: 'P10Y',
        unit: 'mg/dL',
      },
    },
  },
} as const;

export interface HeartDemoInstall {
  model: string;
  version: number;
  installed: boolean;
  metrics?: Record<string, unknown>;
}

/** Trains, maps and publishes the demo CDS model unless it exists. */
export async function installHeartDiseaseDemo(galen: Galen, actor: Actor): Promise<HeartDemoInstall> {
  const existing = (await galen.registry.listModels({ includeArchived: true })).find(
    (m) => m.name === HEART_DEMO_MODEL,
  );
  if (existing) {
    return {
      model: HEART_DEMO_MODEL,
      version: existing.aliases[PRODUCTION_ALIAS] ?? existing.latestVersion,
      installed: false,
    };
  }
  const { dataset } = await galen.datasets.upload(
    {
      name: `${HEART_DEMO_MODEL}-demo`,
      file: createReadStream(HEART_DEMO_CSV_URL),
      description: 'UCI Cleveland heart disease: age, sex, trestbps, chol and num (CC BY 4.0)',
    },
    actor,
  );
  const { version, metrics } = await trainModel(
    { ...galen, python: galen.config.jobs.python },
    {
      model: HEART_DEMO_MODEL,
      dataset: dataset.name,
      datasetVersion: dataset.version,
      target: 'num > 0',
      positive: 'true',
      modelKind: 'logistic',
      sensitive: 'sex',
      description:
        'Demo: probability of coronary artery disease (num > 0) from age, sex, resting systolic pressure and total cholesterol (UCI Cleveland). Not for clinical use.',
      intendedUse:
        'Demonstration of Galen serving a model as a CDS Hooks service from FHIR data. Not a medical device; not for clinical decisions.',
      limitations: [
        'Trained on 242 adults referred for angiography in Cleveland (1981–1984); it says nothing valid about children or the general population.',
        'Four inputs only: the published models on this data use chest-pain type, exercise test and fluoroscopy results as well.',
      ],
    },
    actor,
  );
  await galen.registry.updateModel(
    HEART_DEMO_MODEL,
    {
      description:
        'Demo: risk of coronary artery disease from age, sex, blood pressure and cholesterol in a FHIR record (UCI Cleveland, CC BY 4.0). Not for clinical use.',
      tags: { domain: 'cardiology', task: 'binary-classification', demo: 'true' },
    },
    actor,
  );
  await galen.registry.setFeatureMap(HEART_DEMO_MODEL, version.version, HEART_DEMO_FEATURE_MAP, actor);
  await galen.inference.moveAlias(HEART_DEMO_MODEL, PRODUCTION_ALIAS, version.version, actor);
  return { model: HEART_DEMO_MODEL, version: version.version, installed: true, metrics };
}
