/**
 * `galen cds`: play the EHR against a running server's CDS Hooks services with the demo CDS
 * client that `galen serve --demo` trusts (its key is in the data folder). `call` discovers the
 * service, answers its prefetch from a patient's Bundle, calls it with a freshly signed JWT and
 * prints the cards; `token` prints a JWT for one URL, for curl.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Bundle } from '@medplum/fhirtypes';
import { Command } from 'commander';
import { answerPrefetch } from '../clinical/index.js';
import type { CdsCard, CdsServiceDescription } from '../clinical/index.js';
import { loadConfig } from '../config/index.js';
import { GalenError, jsonSyntaxText } from '../core/index.js';
import { loadDemoCdsClient } from '../demo/index.js';
import { signCdsClientJwt } from '../security/index.js';
import type { CliOptions } from './local-context.js';
import { print } from './local-context.js';
import { RemoteGalen } from './remote-client.js';

/**
 * The URL of the server `galen serve` starts with this configuration (`GALEN_PORT`, `GALEN_HOST`,
 * TLS): a wildcard listen address is reached on loopback.
 */
function configuredServerUrl(options: CliOptions): string {
  const { host, port, tls } = loadConfig({ file: options.config });
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${tls ? 'https' : 'http'}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

async function demoToken(options: CliOptions, aud: string): Promise<string> {
  const client = await loadDemoCdsClient(loadConfig({ file: options.config }).dataDir);
  return signCdsClientJwt(client.key, { iss: client.iss, aud, sub: 'galen-cli' });
}

async function readPatientBundle(file: string): Promise<{ bundle: Bundle; patientId: string }> {
  const text = await readFile(file, 'utf8');
  let bundle: Bundle;
  try {
    bundle = JSON.parse(text) as Bundle;
  } catch {
    // Where, not V8's message: it quotes the file around the fault (a patient's record).
    throw new GalenError(
      'invalid_input',
      `${file} is not a JSON file: ${jsonSyntaxText(text) ?? 'it does not parse'}`,
    );
  }
  const patients = (bundle.entry ?? []).filter((e) => e.resource?.resourceType === 'Patient');
  if (bundle.resourceType !== 'Bundle' || patients.length !== 1 || !patients[0]!.resource!.id) {
    throw new GalenError('invalid_input', `${file} must be a FHIR Bundle holding one Patient with an id`);
  }
  return { bundle, patientId: patients[0]!.resource!.id };
}

export function cdsCommand(global: () => CliOptions): Command {
  const cds = new Command('cds').description(
    "call CDS Hooks services as the demo's CDS client (trusted by galen serve --demo)",
  );
  cds
    .command('call <service>')
    .description("call a CDS service for a patient, answering its prefetch from the patient's Bundle")
    .requiredOption('--patient <bundle.json>', "the patient's data: a FHIR Bundle (e.g. a Synthea file)")
    .option('--url <url>', 'the Galen server (default: the configured one, http://127.0.0.1:<GALEN_PORT>)')
    .action(async (service: string, o: { patient: string; url?: string }) => {
      const url = o.url ?? configuredServerUrl(global());
      const remote = RemoteGalen.withoutKey(url);
      const { bundle, patientId } = await readPatientBundle(o.patient);
      const discovery = `${remote.url}/cds-services`;
      const { services } = await remote.callWithToken<{ services: CdsServiceDescription[] }>(
        await demoToken(global(), discovery),
        'GET',
        '/cds-services',
      );
      const described = services.find((s) => s.id === service);
      if (!described) {
        throw new GalenError(
          'not_found',
          `no CDS service "${service}" at ${url}; it has ${services.map((s) => s.id).join(', ') || 'none'}`,
        );
      }
      const path = `/cds-services/${encodeURIComponent(service)}`;
      const request = {
        hook: described.hook,
        hookInstance: randomUUID(),
        context: {
          userId: 'Practitioner/galen-demo',
          patientId,
          ...(described.hook === 'order-select' && {
            selections: [],
            draftOrders: { resourceType: 'Bundle' },
          }),
        },
        prefetch: answerPrefetch(described.prefetch, bundle, patientId),
      };
      const answer = await remote.callWithToken<{ cards: CdsCard[] }>(
        await demoToken(global(), remote.url + path),
        'POST',
        path,
        request,
      );
      print(answer, global().json, () =>
        answer.cards.map((c) => [`[${c.indicator}] ${c.summary}`, '', c.detail, ''].join('\n')).join('\n'),
      );
    });
  cds
    .command('token <url>')
    .description('print a JWT signed by the demo CDS client for one call of <url> (valid 5 minutes, once)')
    .action(async (url: string) => {
      console.log(await demoToken(global(), url));
    });
  return cds;
}
