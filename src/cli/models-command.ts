/** `galen models …`: register, list, show, alias, archive — the same domain calls as the REST API. */
import { Command, InvalidArgumentError } from 'commander';
import { GalenError } from '../core/index.js';
import { renderModelCardMarkdown } from '../jobs/index.js';
import type { ModelCard } from '../jobs/index.js';
import { parseVersionRef } from '../registry/index.js';
import { openInput } from './cli-errors.js';
import { CLI_ACTOR, audited, parseModelRef, print, table, withGalen } from './local-context.js';
import type { CliOptions } from './local-context.js';
import { shortText } from './short-text.js';

function keyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** key=value pairs whose values are JSON when they parse as JSON (numbers, booleans), else strings. */
function typedPairs(pairs: Record<string, string> | undefined): Record<string, unknown> | undefined {
  if (!pairs) return undefined;
  return Object.fromEntries(
    Object.entries(pairs).map(([k, v]) => {
      try {
        return [k, JSON.parse(v) as unknown];
      } catch {
        return [k, v];
      }
    }),
  );
}

function versionNumber(model: string, ref: string | undefined): number {
  if (ref === undefined) throw new GalenError('invalid_input', `name a version: ${model}:<version>`);
  const parsed = parseVersionRef(ref);
  if (!('version' in parsed)) throw new GalenError('invalid_input', `"${ref}" is not a version number`);
  return parsed.version;
}

export function modelsCommand(global: () => CliOptions): Command {
  const models = new Command('models').description('register and manage models in the local data folder');

  models
    .command('register')
    .description('register an ONNX file as the next version of a model')
    .argument('<name>', 'model name')
    .argument('<file>', 'path of the .onnx file')
    .option('--description <text>', 'what this version is')
    .option('--model-description <text>', "the model's description, when this creates it")
    .option('--tag <key=value>', 'model tag (repeatable, used when this creates the model)', keyValue)
    .option('--framework <text>', 'framework it was trained with, e.g. "pytorch 2.3"')
    .option('--source <text>', 'where it came from: a training job, a commit, a vendor')
    .option('--dataset-sha256 <hex>', 'sha256 of the training data')
    .option('--param <key=value>', 'training parameter (repeatable)', keyValue)
    .option('--metric <key=value>', 'evaluation metric (repeatable)', keyValue)
    .action(
      async (name: string, file: string, o: Record<string, string | Record<string, string> | undefined>) => {
        const opts = global();
        const input = await openInput(file); // a wrong path is refused before the data folder is touched
        await withGalen(opts, async (galen) => {
          const { version, created } = await audited(galen, 'model.register', { model: name }, () =>
            galen.registry.uploadVersion(
              {
                model: name,
                file: input,
                description: o['description'] as string | undefined,
                modelDescription: o['modelDescription'] as string | undefined,
                tags: o['tag'] as Record<string, string> | undefined,
                framework: o['framework'] as string | undefined,
                source: (o['source'] as string | undefined) ?? `galen models register ${file}`,
                datasetSha256: o['datasetSha256'] as string | undefined,
                parameters: typedPairs(o['param'] as Record<string, string> | undefined),
                metrics: typedPairs(o['metric'] as Record<string, string> | undefined),
              },
              CLI_ACTOR,
            ),
          );
          print(created ? version : { ...version, alreadyRegistered: true }, opts.json, () =>
            created
              ? `registered ${version.model} version ${version.version} (sha256 ${version.sha256})`
              : `${version.model} already registered as version ${version.version} (same sha256 ${version.sha256}); nothing new registered`,
          );
        });
      },
    );

  models
    .command('list')
    .description('list models')
    .option('--archived', 'include archived models')
    .action(async (o: { archived?: boolean }) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const list = await galen.registry.listModels({ includeArchived: o.archived === true });
        print(list, opts.json, () =>
          table(
            ['MODEL', 'LATEST', 'ALIASES', 'ARCHIVED', 'DESCRIPTION'],
            list.map((m) => [
              m.name,
              String(m.latestVersion),
              Object.entries(m.aliases)
                .map(([a, v]) => `${a}=${v}`)
                .join(',') || '-',
              m.archived ? 'yes' : 'no',
              shortText(m.description, 60),
            ]),
          ),
        );
      });
    });

  models
    .command('show')
    .description('show a model, or one version of it')
    .argument('<ref>', 'name or name:version (a version may be an alias)')
    .action(async (ref: string) => {
      const opts = global();
      const { model, version } = parseModelRef(ref);
      await withGalen(opts, async (galen) => {
        if (version === undefined) {
          const detail = await galen.registry.getModel(model);
          print(detail, opts.json, () =>
            [
              `${detail.name}${detail.archived ? ' (archived)' : ''}: ${detail.description}`,
              `aliases: ${
                Object.entries(detail.aliases)
                  .map(([a, v]) => `${a} -> ${v}`)
                  .join(', ') || 'none'
              }`,
              table(
                ['VERSION', 'CREATED', 'SHA256', 'INPUTS', 'ARCHIVED'],
                detail.versions.map((v) => [
                  String(v.version),
                  v.createdAt,
                  v.sha256.slice(0, 12),
                  v.signature.inputs.map((i) => `${i.name}:${i.datatype}[${i.shape.join(',')}]`).join(' '),
                  v.archived ? 'yes' : 'no',
                ]),
              ),
            ].join('\n'),
          );
        } else {
          const resolved = await galen.registry.resolve(model, version).catch(async (err: unknown) => {
            const parsed = parseVersionRef(version);
            if ('version' in parsed) return galen.registry.getVersion(model, parsed.version); // archived versions too
            throw err;
          });
          print(resolved, true, () => '');
        }
      });
    });

  models
    .command('card')
    .description("print a trained version's model card (Markdown; JSON with --json)")
    .argument('<ref>', 'name:version (a version may be an alias)')
    .action(async (ref: string) => {
      const opts = global();
      const { model, version } = parseModelRef(ref);
      if (version === undefined) throw new InvalidArgumentError('give the version too, e.g. readmission:2');
      await withGalen(opts, async (galen) => {
        const { version: number } = await galen.registry
          .resolve(model, version)
          .catch(async (err: unknown) => {
            const parsed = parseVersionRef(version);
            if ('version' in parsed) return galen.registry.getVersion(model, parsed.version);
            throw err;
          });
        const card = await galen.registry.getModelCard(model, number);
        print(card, opts.json, () => renderModelCardMarkdown(card as unknown as ModelCard, model, number));
      });
    });

  models
    .command('alias')
    .description('point an alias at a version, or remove it')
    .argument('<name>', 'model name')
    .argument('<alias>', 'alias, e.g. staging or production')
    .argument('[version]', 'version number')
    .option('--remove', 'remove the alias instead')
    .action(async (name: string, alias: string, version: string | undefined, o: { remove?: boolean }) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        if (o.remove) {
          const { previous } = await audited(galen, 'alias.remove', { model: name, detail: { alias } }, () =>
            galen.registry.removeAlias(name, alias, CLI_ACTOR),
          );
          print(
            { model: name, alias, previous },
            opts.json,
            () => `removed ${name}@${alias} (was version ${previous})`,
          );
          return;
        }
        const target = versionNumber(name, version);
        const { previous } = await audited(
          galen,
          'alias.set',
          { model: name, version: target, detail: { alias } },
          () => galen.registry.setAlias(name, alias, target, CLI_ACTOR),
        );
        print(
          { model: name, alias, version: target, previous },
          opts.json,
          () => `${name}@${alias} -> version ${target}${previous === null ? '' : ` (was ${previous})`}`,
        );
      });
    });

  models
    .command('archive')
    .description('archive a model or one version (archived ones are not served); --restore undoes it')
    .argument('<ref>', 'name or name:version')
    .option('--restore', 'restore instead of archiving')
    .action(async (ref: string, o: { restore?: boolean }) => {
      const opts = global();
      const { model, version } = parseModelRef(ref);
      const restore = o.restore === true;
      await withGalen(opts, async (galen) => {
        if (version === undefined) {
          const result = await audited(galen, restore ? 'model.restore' : 'model.archive', { model }, () =>
            galen.registry.archiveModel(model, CLI_ACTOR, { restore }),
          );
          print(result, opts.json, () => `${restore ? 'restored' : 'archived'} model ${model}`);
        } else {
          const v = versionNumber(model, version);
          const result = await audited(
            galen,
            restore ? 'version.restore' : 'version.archive',
            { model, version: v },
            () => galen.registry.archiveVersion(model, v, CLI_ACTOR, { restore }),
          );
          print(result, opts.json, () => `${restore ? 'restored' : 'archived'} ${model} version ${v}`);
        }
      });
    });

  models
    .command('serving')
    .description(
      "show or change a model's batching and queueing settings (a running server applies them when it next loads the model)",
    )
    .argument('<model>', 'model name')
    .option('--batching <on|off>', 'merge concurrent calls along the batch axis', onOff)
    .option('--max-batch-size <n>', 'most rows in one merged run', integer)
    .option(
      '--preferred-batch-sizes <list>',
      'batch sizes to form, ascending, e.g. 8,16,32 ("" for none)',
      integerList,
    )
    .option('--max-queue-delay-us <n>', 'how long a call may wait for others to join (µs)', integer)
    .option('--max-queue-length <n>', 'calls that may wait; more get 503 + Retry-After', integer)
    .option('--queue-timeout-us <n>', 'longest wait in the queue before 503 (µs, 0 = none)', integer)
    .option('--reset', 'forget every setting (use the server defaults)')
    .action(async (model: string, o: ServingFlags) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const changes = {
          ...(o.batching !== undefined && { batching: o.batching }),
          ...(o.maxBatchSize !== undefined && { maxBatchSize: o.maxBatchSize }),
          ...(o.preferredBatchSizes !== undefined && { preferredBatchSizes: o.preferredBatchSizes }),
          ...(o.maxQueueDelayUs !== undefined && { maxQueueDelayMicros: o.maxQueueDelayUs }),
          ...(o.maxQueueLength !== undefined && { maxQueueLength: o.maxQueueLength }),
          ...(o.queueTimeoutUs !== undefined && { queueTimeoutMicros: o.queueTimeoutUs }),
        };
        let view = await galen.inference.serving(model);
        if (o.reset || Object.keys(changes).length > 0) {
          const settings = o.reset ? changes : { ...view.settings, ...changes };
          view = await audited(galen, 'model.serving', { model, detail: { settings } }, () =>
            galen.inference.configureServing(model, settings, CLI_ACTOR),
          );
        }
        print(view, opts.json, () =>
          table(
            ['setting', 'model', 'in force'],
            Object.entries(view.effective).map(([k, v]) => [
              k,
              k in view.settings
                ? JSON.stringify(view.settings[k as keyof typeof view.settings])
                : '(default)',
              JSON.stringify(v),
            ]),
          ),
        );
      });
    });

  return models;
}

interface ServingFlags {
  batching?: boolean;
  maxBatchSize?: number;
  preferredBatchSizes?: number[];
  maxQueueDelayUs?: number;
  maxQueueLength?: number;
  queueTimeoutUs?: number;
  reset?: boolean;
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

function integerList(value: string): number[] {
  if (value.trim() === '') return [];
  return value.split(',').map((v) => integer(v.trim()));
}

function onOff(value: string): boolean {
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  throw new InvalidArgumentError('expected on or off');
}
