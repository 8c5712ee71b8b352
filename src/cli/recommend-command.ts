/**
 * `galen recommend <model>[:version] --features dx:4280,dx3:428 [--exclude a,b] [--k 10]`: one
 * patient's top k items from a ranking model, after exclusion rules, in this process on the local
 * data folder or on a server (`--url`, key from GALEN_KEY) — the same call as
 * `POST /v2/models/{m}/recommend`.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { RecommendAnswer } from '../recommend/index.js';
import type { CliOptions } from './local-context.js';
import { CLI_ACTOR, parseModelRef, print, table, withGalen } from './local-context.js';
import { RemoteGalen } from './remote-client.js';

const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number from 1');
  return n;
}

function render(answer: RecommendAnswer): string {
  const [p] = answer.patients;
  if (!p) return '';
  return [
    `${answer.model_name}:${answer.model_version} — top ${answer.k}`,
    table(
      ['rank', 'item', 'score'],
      p.recommendations.map((r) => [String(r.rank), r.item, r.score.toFixed(4)]),
    ),
    ...(p.excluded.length > 0 ? ['excluded:', ...p.excluded.map((e) => `  ${e.item} (${e.reason})`)] : []),
    ...(p.unknownFeatures.length > 0
      ? [`features the model does not know (ignored): ${p.unknownFeatures.join(', ')}`]
      : []),
  ].join('\n');
}

export function recommendCommand(global: () => CliOptions): Command {
  return new Command('recommend')
    .description("a patient's top items from a ranking model (a recommender), after exclusion rules")
    .argument('<model>', 'model[:version or alias]')
    .requiredOption(
      '--features <names>',
      "the patient's feature names, comma-separated (e.g. dx:4280,dx3:428,gender:F)",
      list,
    )
    .option('--exclude <items>', 'items the patient already has, comma-separated', list)
    .option('--k <n>', 'how many items (default 10)', positive)
    .option('--url <url>', 'ask this Galen server (API key from GALEN_KEY)')
    .action(async (ref: string, o: { features: string[]; exclude?: string[]; k?: number; url?: string }) => {
      const { model, version } = parseModelRef(ref);
      const patients = [{ features: o.features, ...(o.exclude && { exclude: o.exclude }) }];
      const answer =
        o.url !== undefined
          ? await RemoteGalen.connect(o.url).call<RecommendAnswer>(
              'POST',
              `/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}/recommend`,
              { patients, ...(o.k !== undefined && { k: o.k }) },
            )
          : await withGalen(global(), (galen) =>
              galen.recommend.recommend({ model, version, patients, k: o.k }, CLI_ACTOR),
            );
      print(answer, global().json, () => render(answer));
    });
}
