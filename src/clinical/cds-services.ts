/**
 * CDS Hooks 2.0 services backed by models: one `patient-view` and one `order-select` service per
 * model alias whose version has a feature map, with prefetch templates generated from that map,
 * and the call that turns the hook's prefetched data into a card (summary, indicator from the
 * service's risk thresholds, source, detail, uuid). https://cds-hooks.hl7.org/2.0/
 */
import { randomUUID } from 'node:crypto';
import { GalenError, isJsonObject, jsonTypeOf } from '../core/index.js';
import type { Actor, Clock } from '../core/index.js';
import { DEFAULT_THRESHOLDS, storedFeatureMap } from '../fhir/index.js';
import type { FeatureMap, RiskThresholds } from '../fhir/index.js';
import type { ModelRegistry } from '../registry/index.js';
import type { ExplainService } from '../explain/index.js';
import type { InferenceService } from '../serving/index.js';
import { openJson, sealJson } from '../store/index.js';
import type { ArtifactCipher, CdsFeedbackRecord, CdsFeedbackRepository } from '../store/index.js';
import { allowedFhirServer, fetchFhir, prefetchBundle } from './cds-prefetch.js';
import type { CdsCaller, FetchDeps } from './cds-prefetch.js';
import { assessFromFhir } from './predict-from-fhir.js';

export const CDS_HOOKS = ['patient-view', 'order-select'] as const;
export type CdsHook = (typeof CDS_HOOKS)[number];

export interface CdsServiceDescription {
  hook: CdsHook;
  id: string;
  title: string;
  description: string;
  prefetch: Record<string, string>;
}

export interface CdsCard {
  uuid: string;
  summary: string;
  indicator: 'info' | 'warning' | 'critical';
  detail: string;
  source: { label: string; topic?: { system: string; code: string; display: string } };
  links?: { label: string; url: string; type: 'absolute' }[];
}

const serviceId = (model: string, alias: string, hook: CdsHook): string =>
  hook === 'patient-view' ? `${model}--${alias}` : `${model}--${alias}--${hook}`;

/**
 * Prefetch templates that fetch what the feature map reads: the codes of its Observation and
 * Condition sources, and those its FHIRPath sources declare in `reads`.
 */
export function prefetchTemplates(map: FeatureMap): Record<string, string> {
  const templates: Record<string, string> = { patient: 'Patient/{{context.patientId}}' };
  const codes = (from: 'observation' | 'condition'): string[] => [
    ...new Set(
      Object.values(map.inputs).flatMap(({ source }) =>
        (source.from === from
          ? source.codes
          : source.from === 'fhirpath'
            ? (source.reads?.[from] ?? [])
            : []
        ).map((c) => `${c.system}|${c.code}`),
      ),
    ),
  ];
  const observations = codes('observation');
  if (observations.length > 0) {
    templates['observations'] = `Observation?patient={{context.patientId}}&code=${observations.join(',')}`;
  }
  const conditions = codes('condition');
  if (conditions.length > 0) {
    templates['conditions'] = `Condition?patient={{context.patientId}}&code=${conditions.join(',')}`;
  }
  return templates;
}

/** A published service with the model alias behind it. */
interface PublishedService {
  description: CdsServiceDescription;
  model: string;
  alias: string;
  map: FeatureMap;
}

/**
 * Services of each hook for each alias of the models `which` keeps, whose aliased version has a
 * feature map.
 */
async function publishedServices(
  registry: ModelRegistry,
  which: (model: string) => boolean = () => true,
): Promise<PublishedService[]> {
  const services: PublishedService[] = [];
  for (const model of await registry.listModels()) {
    if (!which(model.name)) continue;
    for (const [alias, version] of Object.entries(model.aliases)) {
      const view = await registry.getFeatureMap(model.name, version).catch(() => undefined);
      if (!view) continue;
      const map = storedFeatureMap(view.map);
      for (const hook of CDS_HOOKS) {
        services.push({
          model: model.name,
          alias,
          map,
          description: {
            hook,
            id: serviceId(model.name, alias, hook),
            title: `${model.name} (${alias})`,
            description: `Risk from Galen model "${model.name}", alias ${alias} (version ${version})${model.description ? `: ${model.description}` : ''}`,
            prefetch: prefetchTemplates(map),
          },
        });
      }
    }
  }
  return services;
}

/** Every service: each hook for each alias of each model whose aliased version has a feature map. */
export async function listCdsServices(registry: ModelRegistry): Promise<CdsServiceDescription[]> {
  return (await publishedServices(registry)).map((s) => s.description);
}

/** The service `id`; only models whose name starts it are looked at. */
async function findCdsService(registry: ModelRegistry, id: string): Promise<PublishedService> {
  const found = (await publishedServices(registry, (model) => id.startsWith(`${model}--`))).find(
    (s) => s.description.id === id,
  );
  if (!found)
    throw new GalenError('not_found', `there is no CDS service "${id}"; GET /cds-services lists them`);
  return found;
}

/** A CDS Hooks request as the service reads it. */
export interface CdsRequest {
  hook?: unknown;
  hookInstance?: unknown;
  fhirServer?: unknown;
  fhirAuthorization?: { access_token?: unknown; token_type?: unknown } | null;
  context?: { patientId?: unknown; [key: string]: unknown };
  prefetch?: Record<string, unknown>;
}

/** What a hook call answers (`answer`, the HTTP body), and which model version computed it. */
export interface CdsCallResult {
  answer: { cards: CdsCard[] };
  model: string;
  version: number;
}

/** Runs a service for one hook call by `caller` (a trusted CDS client). */
export async function callCdsService(
  deps: {
    registry: ModelRegistry;
    inference: InferenceService;
    explain?: ExplainService;
    clock: Clock;
  } & FetchDeps,
  id: string,
  request: CdsRequest,
  caller: CdsCaller,
): Promise<CdsCallResult> {
  const published = await findCdsService(deps.registry, id);
  const service = published.description;
  if (request.hook !== service.hook) {
    throw new GalenError(
      'invalid_input',
      `service "${id}" answers the ${service.hook} hook, not ${JSON.stringify(request.hook)}`,
    );
  }
  if (typeof request.hookInstance !== 'string' || request.hookInstance === '') {
    throw new GalenError('invalid_input', 'hookInstance (a UUID for this call) is required');
  }
  const patientId = request.context?.patientId;
  if (typeof patientId !== 'string' || patientId === '') {
    throw new GalenError('invalid_input', `context.patientId is required for the ${service.hook} hook`);
  }
  if (request.prefetch !== undefined && request.prefetch !== null && !isJsonObject(request.prefetch)) {
    throw new GalenError(
      'invalid_input',
      `prefetch is ${jsonTypeOf(request.prefetch)}; it is an object of FHIR resources by prefetch key`,
    );
  }
  const prefetch: Record<string, unknown> = { ...request.prefetch };
  const missing = Object.keys(service.prefetch).filter((key) => prefetch[key] === undefined);
  if (missing.length > 0) {
    if (typeof request.fhirServer !== 'string') {
      throw new GalenError(
        'precondition_failed',
        `prefetch ${missing.join(', ')} is missing and the request names no fhirServer to fetch it from`,
      );
    }
    const server = allowedFhirServer(request.fhirServer, caller);
    const token = request.fhirAuthorization?.access_token;
    for (const key of missing) {
      const query = service.prefetch[key]!.replaceAll('{{context.patientId}}', encodeURIComponent(patientId));
      prefetch[key] = await fetchFhir(
        deps,
        server,
        key,
        query,
        typeof token === 'string' ? token : undefined,
      );
    }
  }
  const bundle = prefetchBundle(prefetch);
  const patient = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource;
  if (!patient || patient.id !== patientId) {
    throw new GalenError(
      'precondition_failed',
      'the prefetch holds no Patient whose id is context.patientId',
    );
  }
  const { assessment, outOfRange } = await assessFromFhir(deps, {
    model: published.model,
    version: published.alias,
    bundle,
    protocol: 'cds-hooks',
  });
  const thresholds: RiskThresholds = published.map.thresholds ?? DEFAULT_THRESHOLDS;
  const prediction = assessment.prediction?.[0];
  const p = prediction?.probabilityDecimal ?? 0;
  const outcome = prediction?.outcome?.text ?? 'the outcome';
  const byRisk = p >= thresholds.critical ? 'critical' : p >= thresholds.warning ? 'warning' : 'info';
  // Inputs outside the training data make the figure an extrapolation: at least a warning.
  const indicator = outOfRange !== undefined && byRisk === 'info' ? 'warning' : byRisk;
  const method = assessment.method?.coding?.[0];
  return {
    model: published.model,
    version: Number(method?.code?.slice(published.model.length + 1)),
    answer: {
      cards: [
        {
          uuid: assessment.id ?? randomUUID(),
          summary: `${Math.round(p * 100)}% predicted probability of ${outcome}`.slice(0, 140),
          indicator,
          detail: [
            `Model **${method?.code ?? id}**: probability ${p.toFixed(3)} of ${outcome}.`,
            `Thresholds: warning from ${thresholds.warning}, critical from ${thresholds.critical}.`,
            ...(prediction?.rationale ? [prediction.rationale] : []),
            ...(assessment.note?.map((n) => n.text ?? '') ?? []),
            'Decision support only: the model card states its intended use and limitations.',
          ].join('\n\n'),
          source: {
            label: 'Galen',
            ...(method && {
              topic: { system: method.system!, code: method.code!, display: method.display! },
            }),
          },
          ...(published.map.links && {
            links: published.map.links.map((l) => ({ ...l, type: 'absolute' as const })),
          }),
        },
      ],
    },
  };
}

/**
 * CDS Hooks feedback for one service: what clinicians did with its cards, stored and counted. The
 * accepted suggestions and override reason are free text a clinician typed (it may name the
 * patient): with a master key they are stored sealed, like artifacts.
 */
export async function recordCdsFeedback(
  deps: { registry: ModelRegistry; store: CdsFeedbackRepository; cipher?: ArtifactCipher | undefined },
  id: string,
  body: unknown,
  actor: Actor,
  now: Date = new Date(),
): Promise<{ model: string; service: string; counts: Record<string, number> }> {
  const { model } = await findCdsService(deps.registry, id);
  const list = (body as { feedback?: unknown })?.feedback;
  if (!Array.isArray(list) || list.length === 0 || list.length > 100) {
    throw new GalenError(
      'invalid_input',
      'feedback is a list of 1 to 100 {"card", "outcome", "outcomeTimestamp"} entries',
    );
  }
  const records: CdsFeedbackRecord[] = list.map((raw: unknown, i) => {
    const f = raw as Record<string, unknown>;
    const time = typeof f?.['outcomeTimestamp'] === 'string' ? Date.parse(f['outcomeTimestamp']) : Number.NaN;
    if (
      typeof f?.['card'] !== 'string' ||
      (f['outcome'] !== 'accepted' && f['outcome'] !== 'overridden') ||
      Number.isNaN(time)
    ) {
      throw new GalenError(
        'invalid_input',
        `feedback[${i}] needs "card" (the card's uuid), "outcome" ("accepted" or "overridden") and "outcomeTimestamp" (an ISO 8601 time)`,
      );
    }
    const detail: Record<string, unknown> = {};
    if (f['acceptedSuggestions'] !== undefined) detail['acceptedSuggestions'] = f['acceptedSuggestions'];
    if (f['overrideReason'] !== undefined) detail['overrideReason'] = f['overrideReason'];
    return {
      service: id,
      card: f['card'],
      outcome: f['outcome'],
      detail: sealJson(deps.cipher, detail),
      outcomeTime: new Date(time).toISOString(),
      receivedAt: now.toISOString(),
      receivedBy: actor.keyId,
    };
  });
  await deps.store.insertCdsFeedback(records);
  return { model, service: id, counts: await deps.store.countCdsFeedback(id) };
}

/** Re-seals every feedback's detail under the current master key; returns how many. */
export async function resealCdsFeedback(deps: {
  store: CdsFeedbackRepository;
  cipher?: ArtifactCipher | undefined;
}): Promise<number> {
  if (!deps.cipher) return 0;
  let count = 0;
  for (let after = 0; ;) {
    const page = await deps.store.scanCdsFeedbackDetails(after, 500);
    if (page.length === 0) return count;
    for (const { seq, detail } of page) {
      const plain = openJson(deps.cipher, detail, `CDS feedback ${seq}`);
      await deps.store.replaceCdsFeedbackDetail(seq, sealJson(deps.cipher, plain));
      after = seq;
      count++;
    }
  }
}

/** How many cards of a service were accepted and overridden. */
export async function cdsFeedbackCounts(
  deps: { store: CdsFeedbackRepository },
  id: string,
): Promise<{ service: string; counts: Record<string, number> }> {
  return { service: id, counts: await deps.store.countCdsFeedback(id) };
}
