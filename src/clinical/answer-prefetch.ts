/**
 * What an EHR does with a service's prefetch templates, answered from one patient's Bundle:
 * `Patient/{{context.patientId}}` is the Patient, and `Type?patient={{context.patientId}}&code=…`
 * a searchset of that patient's resources of the type with one of the codes. Galen's demo client
 * (`galen cds call`) plays the EHR with it.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { GalenError } from '../core/index.js';

type Coded = Resource & {
  subject?: { reference?: string };
  code?: { coding?: { system?: string; code?: string }[] };
};

export function answerPrefetch(
  templates: Record<string, string>,
  bundle: Bundle,
  patientId: string,
): Record<string, Resource> {
  const resources = (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])) as Coded[];
  const references = new Set([`Patient/${patientId}`, `urn:uuid:${patientId}`]);
  const answers: Record<string, Resource> = {};
  for (const [key, template] of Object.entries(templates)) {
    const query = template.replaceAll('{{context.patientId}}', patientId);
    const [path = '', search = ''] = query.split('?');
    if (path === `Patient/${patientId}`) {
      const patient = resources.find((r) => r.resourceType === 'Patient' && r.id === patientId);
      if (patient) answers[key] = patient;
      continue;
    }
    if (!/^[A-Z][A-Za-z]+$/.test(path)) {
      throw new GalenError('invalid_input', `prefetch "${key}": cannot answer ${JSON.stringify(template)}`);
    }
    const params = new URLSearchParams(search);
    const codes = new Set((params.get('code') ?? '').split(',').filter(Boolean));
    const matches = resources.filter(
      (r) =>
        r.resourceType === path &&
        references.has(r.subject?.reference ?? '') &&
        (codes.size === 0 || (r.code?.coding ?? []).some((c) => codes.has(`${c.system}|${c.code}`))),
    );
    answers[key] = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: matches.length,
      entry: matches.map((resource) => ({ resource })),
    };
  }
  return answers;
}
