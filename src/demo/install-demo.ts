/**
 * Installs the demo on `galen serve --demo`: the breast-cancer model (below), the heart-disease
 * CDS service (`heart-disease.ts`) and the demo CDS client (`cds-demo-client.ts`).
 *
 * The breast-cancer model, on first start: trains the classifier
 * from the bundled WDBC copy, registers it, evaluates the registered ONNX through Galen's own
 * inference path on the held-out split (what is evaluated is what is served), records those
 * metrics, and points `production` at it. Does nothing when the model already exists.
 */
import type { Galen } from '../app/index.js';
import { GALEN_VERSION, PRODUCTION_ALIAS } from '../core/index.js';
import type { Actor } from '../core/index.js';
import { evaluateBinary } from '../training/index.js';
import { buildBreastCancerModel } from './breast-cancer.js';
import { trustDemoCdsClient } from './cds-demo-client.js';
import { installHeartDiseaseDemo } from './heart-disease.js';
import { readWdbcCsv } from './wdbc-csv.js';

export const DEMO_MODEL = 'breast-cancer';
const DEMO_ACTOR: Actor = { keyId: 'demo-installer', role: 'admin' };

export interface DemoInstall {
  model: string;
  version: number;
  installed: boolean;
  metrics?: Record<string, unknown>;
}

/** Installs what is missing of the demo models, and trusts the demo CDS client. */
export async function installDemoModels(galen: Galen): Promise<DemoInstall[]> {
  const installed = [await installBreastCancerDemo(galen), await installHeartDiseaseDemo(galen, DEMO_ACTOR)];
  await trustDemoCdsClient(galen.config.dataDir, galen.cdsClients);
  return installed;
}

async function installBreastCancerDemo(galen: Galen): Promise<DemoInstall> {
  const existing = (await galen.registry.listModels({ includeArchived: true })).find(
    (m) => m.name === DEMO_MODEL,
  );
  if (existing)
    return {
      model: DEMO_MODEL,
      version: existing.aliases[PRODUCTION_ALIAS] ?? existing.latestVersion,
      installed: false,
    };

  const built = buildBreastCancerModel(await readWdbcCsv(), { producerVersion: GALEN_VERSION });
  const version = await galen.registry.registerVersion(
    {
      model: DEMO_MODEL,
      file: built.onnx,
      description: built.description,
      modelDescription:
        'Demo: probability that a breast mass is malignant, from 30 fine-needle-aspirate nucleus measurements ' +
        '(Wisconsin Diagnostic Breast Cancer data, CC BY 4.0). Not for clinical use.',
      tags: { domain: 'oncology', task: 'binary-classification', demo: 'true' },
      framework: `galen ${GALEN_VERSION} (logistic regression, Newton solver)`,
      source: 'galen serve --demo',
      datasetSha256: built.datasetSha256,
      parameters: built.parameters,
    },
    DEMO_ACTOR,
  );

  const n = built.test.labels.length;
  const result = await galen.inference.infer({
    model: DEMO_MODEL,
    version: String(version.version),
    inputs: [
      {
        name: 'features',
        datatype: 'FP32',
        shape: [n, built.featureNames.length],
        data: built.test.features,
      },
    ],
    outputs: ['probabilities'],
    protocol: 'internal',
    internal: true,
  });
  const probabilities = result.outputs[0]!.data as Float32Array;
  const malignant = Array.from({ length: n }, (_, i) => probabilities[i * 2 + 1]!);
  const evaluation = evaluateBinary(malignant, built.test.labels);
  const metrics = {
    test: { auroc: evaluation.auroc, accuracy: evaluation.accuracy, n: evaluation.n, threshold: 0.5 },
    evaluatedOn: `held-out stratified split (${n} rows, seed ${built.parameters.seed}), scored by the registered ONNX`,
  };
  await galen.registry.recordMetrics(DEMO_MODEL, version.version, metrics, DEMO_ACTOR);
  // Explanations: KernelSHAP against training rows (the graph is imported-style, one [-1, 30] input).
  await galen.explain.setBackground(
    {
      model: DEMO_MODEL,
      version: version.version,
      inputs: [
        {
          name: 'features',
          datatype: 'FP32',
          shape: [built.background.length, built.featureNames.length],
          data: Float32Array.from(built.background.flat()),
        },
      ],
      names: built.featureNames,
      classes: ['benign', 'malignant'],
    },
    DEMO_ACTOR,
  );
  // Monitoring: production is compared with the held-out rows and their diagnoses.
  await galen.monitoring.setReference(
    {
      model: DEMO_MODEL,
      version: version.version,
      inputs: [
        {
          name: 'features',
          datatype: 'FP32',
          shape: [n, built.featureNames.length],
          data: built.test.features,
        },
      ],
      labels: Array.from(built.test.labels, (y) => (y === 1 ? 'malignant' : 'benign')),
      names: built.featureNames,
      classes: ['benign', 'malignant'],
      description: `the ${n} held-out rows of the WDBC data (seed ${built.parameters.seed}) and their diagnoses`,
    },
    DEMO_ACTOR,
  );
  await galen.inference.moveAlias(DEMO_MODEL, PRODUCTION_ALIAS, version.version, DEMO_ACTOR);
  return { model: DEMO_MODEL, version: version.version, installed: true, metrics };
}
