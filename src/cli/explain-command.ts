/**
 * `galen explain <model>[:version] --row '{"age": 61, "sex": 1, …}'`: Shapley values of one
 * prediction, in this process on the local data folder or on a server (`--url`, key from
 * GALEN_KEY), the same call as `POST /v2/models/{m}/explain`.
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import type { Tensor } from '../core/index.js';
import { GalenError } from '../core/index.js';
import type { Cell, ExplainMethod, ExplainResult, ImageExplainResult } from '../explain/index.js';
import { parseDatatype, tensorFromJson } from '../serving/index.js';
import { writeOutput } from './cli-errors.js';
import type { CliOptions } from './local-context.js';
import { parseModelRef, print, table, withGalen } from './local-context.js';
import { RemoteGalen } from './remote-client.js';

type JsonTensor = {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
  parameters?: Record<string, unknown>;
};

function parseRow(text: string): Record<string, unknown> | unknown[] {
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('--row is JSON: {"column": value, …}, or [v1, v2, …] with --input');
  }
  if (typeof row !== 'object' || row === null) {
    throw new InvalidArgumentError('--row is a JSON object of column values, or an array of values');
  }
  return row as Record<string, unknown> | unknown[];
}

/** The row as OIP JSON inputs: one [1, 1] input per column (numbers FP32, text BYTES), or one [1, K] input. */
function rowInputs(row: Record<string, unknown> | unknown[], input: string): JsonTensor[] {
  if (Array.isArray(row)) return [{ name: input, datatype: 'FP32', shape: [1, row.length], data: row }];
  return Object.entries(row).map(([name, value]) => ({
    name,
    datatype: typeof value === 'string' ? 'BYTES' : 'FP32',
    shape: [1, 1],
    data: [value ?? null],
  }));
}

/** A JSON input as a tensor, decoded as the server decodes it, so a row means the same locally as with --url. */
function toTensor(t: JsonTensor): Tensor {
  const tensor = tensorFromJson(t.name, parseDatatype(t.name, t.datatype), t.shape, t.data);
  if (t.parameters?.['content_type'] !== 'base64') return tensor;
  return { ...tensor, data: (tensor.data as Buffer[]).map((b) => Buffer.from(b.toString('utf8'), 'base64')) };
}

function renderImage(result: ImageExplainResult, overlay: string | undefined): string {
  const [image] = result.explanations;
  if (!image) return '';
  const { values, width } = image.saliency;
  let top = 0;
  values.forEach((v: number, i: number) => (top = v > values[top]! ? i : top));
  return [
    `${result.model_name}:${result.model_version} — occlusion saliency of ${result.output.explained} = ${image.output.toFixed(4)}`,
    `patch ${result.settings.patch} px, stride ${result.settings.stride}, ${result.settings.windows} windows; strongest evidence at x=${top % width}, y=${Math.floor(top / width)} (${values[top]!.toFixed(4)})`,
    overlay ? `overlay written to ${overlay}` : 'add --overlay <file.png> to save the map over the image',
  ].join('\n');
}

function render(result: ExplainResult): string {
  const [row] = result.explanations;
  if (!row) return '';
  const shown = (v: Cell): string => (v === null ? '(missing)' : String(v));
  return [
    `${result.model_name}:${result.model_version} — ${result.method}, ${result.exact ? 'exact' : 'estimated'} Shapley values of the ${result.output.explained}`,
    `base ${row.base.toFixed(4)} + Σ contributions = ${row.output.toFixed(4)} (background: ${result.settings.backgroundRows} training rows${result.settings.coalitions ? `, ${result.settings.coalitions} coalitions` : ''})`,
    '',
    table(
      ['input', 'value', 'contribution'],
      row.attributions.map((a) => [a.name, shown(a.value), `${a.shap >= 0 ? '+' : ''}${a.shap.toFixed(4)}`]),
    ),
  ].join('\n');
}

export function explainCommand(global: () => CliOptions): Command {
  return new Command('explain')
    .description(
      "explain one prediction: each input's Shapley value (exact for Galen's linear and tree models), or an image's saliency map",
    )
    .argument('<model>', 'model[:version or alias]')
    .option(
      '--row <json>',
      'the inputs: {"column": value, …} (null = missing), or [v1, …] with --input',
      parseRow,
    )
    .option('--image <file>', 'an image model: the PNG or JPEG to explain')
    .option('--input <name>', 'the input an array --row or --image feeds (default features, or image)')
    .option('--overlay <file.png>', 'image models: write the saliency map over the image here')
    .option('--force', 'overwrite an --overlay file that exists')
    .option('--method <method>', 'auto, exact or kernel', 'auto')
    .option(
      '--class <label>',
      'the class to explain (default: the positive one of two, else the predicted one)',
    )
    .option('--url <url>', 'explain on this Galen server (API key from GALEN_KEY)')
    .action(
      async (
        ref: string,
        o: {
          row?: Record<string, unknown> | unknown[];
          image?: string;
          input?: string;
          overlay?: string;
          force?: boolean;
          method: string;
          class?: string;
          url?: string;
        },
      ) => {
        const { model, version } = parseModelRef(ref);
        if ((o.row === undefined) === (o.image === undefined)) {
          throw new GalenError('invalid_input', 'give --row (a tabular model) or --image (an image model)');
        }
        const inputs: JsonTensor[] = o.image
          ? [
              {
                name: o.input ?? 'image',
                datatype: 'BYTES',
                shape: [1],
                data: [(await readFile(o.image)).toString('base64')],
                parameters: { content_type: 'base64' },
              },
            ]
          : rowInputs(o.row!, o.input ?? 'features');
        const method = o.method as ExplainMethod;
        let result: ExplainResult | ImageExplainResult;
        if (o.url !== undefined) {
          const path = `/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}/explain`;
          result = await RemoteGalen.connect(o.url).call<ExplainResult | ImageExplainResult>('POST', path, {
            inputs,
            parameters: { ...(o.row && { method }), ...(o.class !== undefined && { class: o.class }) },
          });
        } else {
          result = await withGalen(global(), (galen) =>
            galen.explain.explain({ model, version, inputs: inputs.map(toTensor), method, class: o.class }),
          );
        }
        if (result.method === 'occlusion') {
          const image = result;
          if (o.overlay && image.explanations[0]) {
            await writeOutput(
              o.overlay,
              Buffer.from(image.explanations[0].overlay_png, 'base64'),
              o.force === true,
            );
          }
          print(image, global().json, () => renderImage(image, o.overlay));
        } else {
          const rows = result;
          print(rows, global().json, () => render(rows));
        }
      },
    );
}
