/**
 * `galen encryption`: make a master key, and rotate — encrypt whatever is stored in the clear and
 * re-encrypt what an earlier master key sealed, under the current one (GALEN_MASTER_KEY, with the
 * old key in GALEN_PREVIOUS_MASTER_KEYS until this has run).
 */
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { resealCdsFeedback } from '../clinical/index.js';
import { GalenError } from '../core/index.js';
import type { CliOptions } from './local-context.js';
import { audited, print, withGalen } from './local-context.js';

export function encryptionCommand(global: () => CliOptions): Command {
  const encryption = new Command('encryption').description(
    'encryption at rest of model files, datasets and explainers',
  );
  encryption
    .command('new-key')
    .description('print a new random master key (base64 of 32 bytes) for GALEN_MASTER_KEY or a key file')
    .action(() => {
      console.log(randomBytes(32).toString('base64'));
    });
  encryption
    .command('rotate')
    .description(
      'encrypt everything under the current master key (stored in the clear, or sealed by a previous key)',
    )
    .action(async () => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        if (!galen.config.encryption.masterKey && !galen.config.encryption.masterKeyFile) {
          throw new GalenError(
            'invalid_input',
            'set GALEN_MASTER_KEY (or GALEN_MASTER_KEY_FILE) to the key to encrypt under',
          );
        }
        const result = await audited(galen, 'encryption.rotate', {}, async () => ({
          artifacts: await galen.artifacts.rotate(),
          explainers: await galen.registry.resealStoredValues(),
          monitoringBatches: await galen.monitoring.reseal(),
          jobs: await galen.jobs.reseal(),
          cdsFeedback: await resealCdsFeedback(galen),
        }));
        print(result, opts.json, () =>
          [
            `artifacts: ${result.artifacts.encrypted} encrypted, ${result.artifacts.rewrapped} re-encrypted from a previous key, ${result.artifacts.unchanged} already under the current key`,
            `explainers and monitoring profiles: ${result.explainers} sealed under the current key`,
            `recorded prediction batches: ${result.monitoringBatches} sealed under the current key`,
            `jobs (requests and results): ${result.jobs}, CDS feedback: ${result.cdsFeedback} sealed under the current key`,
            'Earlier master keys can now be removed from GALEN_PREVIOUS_MASTER_KEYS.',
          ].join('\n'),
        );
      });
    });
  return encryption;
}
