/**
 * OIP inference bodies over HTTP, JSON and the binary tensor data extension (as in Triton and
 * KServe): a request body may be a JSON inference header of `Inference-Header-Content-Length`
 * bytes followed by raw tensor bytes, each input with `binary_data_size` taking the next bytes in
 * order; outputs asked for with `binary_data` / `binary_data_output` come back the same way.
 * This module owns the framing (content-type parsers for the infer routes, splitting the body,
 * assigning byte ranges, building the response); the raw layout itself is `serving/raw-tensors`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GalenError, jsonSyntaxText, parameterText, quoted } from '../core/index.js';
import type { Tensor } from '../core/index.js';
import {
  TensorBudget,
  parseDatatype,
  parseShape,
  tensorDataToJson,
  tensorFromJson,
  tensorFromRaw,
  tensorToRaw,
} from '../serving/index.js';
import type { EncodedInputs } from '../serving/index.js';
import { jsonTextParser } from './json-body.js';

/** The HTTP header that gives the byte length of the JSON inference header (lower case, as Node keeps it). */
const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';

const HOW_TO_FRAME =
  'a binary inference body is the JSON inference header followed by the tensor bytes, with the header\'s length in bytes in "Inference-Header-Content-Length"';

/** What this module reads of an OIP inference request header (a validated `InferRequestBody`). */
export interface InferHeader {
  readonly parameters?: Readonly<Record<string, unknown>> | undefined;
  readonly inputs: readonly {
    readonly name: string;
    readonly datatype: unknown;
    readonly shape: unknown;
    readonly parameters?: Readonly<Record<string, unknown>> | undefined;
    readonly data?: unknown;
  }[];
  readonly outputs?:
    | readonly {
        readonly name: string;
        readonly parameters?: Readonly<Record<string, unknown>> | undefined;
      }[]
    | undefined;
}

/** The bytes after the JSON header of each framed request; plain JSON requests have no entry. */
const binaryParts = new WeakMap<FastifyRequest, Buffer>();

/** The binary part of a request (the bytes after its JSON header), or undefined for plain JSON. */
export function binaryPartOf(request: FastifyRequest): Buffer | undefined {
  return binaryParts.get(request);
}

function mediaType(request: FastifyRequest): string {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Reads `Inference-Header-Content-Length`: a whole number of bytes no larger than the body. */
function headerLength(value: string | string[], bodyLength: number): number {
  const text = Array.isArray(value) ? value.join(', ') : value;
  if (!/^\d+$/.test(text.trim())) {
    throw new GalenError(
      'invalid_input',
      `Inference-Header-Content-Length is ${quoted(text)}; it must be a whole number: the length in bytes of the JSON inference header at the start of the body`,
    );
  }
  const length = Number(text.trim());
  if (length > bodyLength) {
    throw new GalenError(
      'invalid_input',
      `Inference-Header-Content-Length is ${length} but the body has only ${bodyLength} bytes; ${HOW_TO_FRAME}`,
    );
  }
  return length;
}

/**
 * Registers, on `scope` (an encapsulated plugin holding only the infer routes), the body parsers
 * for JSON and for the binary extension. The parsed JSON header becomes `request.body`, so the
 * route's body schema validates it exactly as it validates a plain JSON request; the bytes after
 * it are kept for `binaryPartOf`. A JSON body without `Inference-Header-Content-Length` goes
 * through Fastify's own JSON parser, unchanged. A body without any Content-Type is read as JSON
 * too, since Triton's clients send none.
 */
export function registerInferBodyParsers(scope: FastifyInstance): void {
  const parseJson = jsonTextParser(scope);
  // The server's own JSON parser (`parseJsonBodies`) gives way to this one for the infer routes.
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser(
    ['application/json', 'application/octet-stream', '*'],
    { parseAs: 'buffer' },
    (request, body: Buffer, done) => {
      const type = mediaType(request);
      if (type !== 'application/json' && type !== 'application/octet-stream' && type !== '') {
        throw new GalenError(
          'invalid_input',
          `Content-Type ${type} is not accepted for inference; send application/json, or application/octet-stream for the binary tensor extension (${HOW_TO_FRAME})`,
        );
      }
      const lengthHeader = request.headers[INFERENCE_HEADER_CONTENT_LENGTH];
      if (lengthHeader === undefined) {
        if (type === 'application/octet-stream') {
          throw new GalenError(
            'invalid_input',
            `Inference-Header-Content-Length is missing; ${HOW_TO_FRAME}`,
          );
        }
        parseJson(request, body.toString('utf8'), done);
        return;
      }
      const length = headerLength(lengthHeader, body.length);
      const text = body.toString('utf8', 0, length);
      parseJson(request, text, (err, header) => {
        if (err) {
          // Where the header stops being JSON, never its text (it may hold patient data).
          const why = jsonSyntaxText(text);
          done(
            new GalenError(
              'invalid_input',
              `the first ${length} bytes of the body (Inference-Header-Content-Length) are not valid JSON${why === undefined ? '' : `: ${why}`}; ${HOW_TO_FRAME}`,
            ),
          );
          return;
        }
        binaryParts.set(request, body.subarray(length)); // a view: the tensors copy out of it once
        done(null, header);
      });
    },
  );
}

const EMPTY = Buffer.alloc(0);

/** At most 8 entries of a list the request made, for a message (a request may have thousands). */
function shortList(entries: readonly string[]): string {
  const shown = entries.slice(0, 8).join(', ');
  return entries.length > 8 ? `${shown}, … ${entries.length} in all` : shown;
}

/**
 * The bytes of each input that declares `binary_data_size` (undefined for JSON inputs), taken
 * in input order from `binary`. Every byte after the header must belong to exactly one input.
 */
function binaryInputBytes(inputs: InferHeader['inputs'], binary: Buffer | undefined): (Buffer | undefined)[] {
  const available = binary ?? EMPTY;
  const declared: string[] = [];
  let offset = 0;
  const ranges = inputs.map((input) => {
    const size = input.parameters?.['binary_data_size'];
    if (size === undefined) return undefined;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new GalenError(
        'invalid_input',
        `input ${quoted(input.name)} has binary_data_size ${parameterText(size)}; it must be a whole number of bytes (0 or more)`,
      );
    }
    if (input.data !== undefined) {
      throw new GalenError(
        'invalid_input',
        `input ${quoted(input.name)} has both "data" and binary_data_size; send its elements either as JSON "data" or as binary_data_size bytes after the JSON header, not both`,
      );
    }
    declared.push(`${quoted(input.name)} ${size}`);
    const start = offset;
    offset += size;
    return { start, end: offset };
  });
  if (binary === undefined && offset > 0) {
    throw new GalenError(
      'invalid_input',
      `inputs declare binary_data_size (${shortList(declared)}) but the request has no binary part; ${HOW_TO_FRAME}`,
    );
  }
  if (offset > available.length) {
    throw new GalenError(
      'invalid_input',
      `inputs declare ${offset} bytes of binary data (${shortList(declared)}) but only ${available.length} bytes follow the JSON inference header`,
    );
  }
  if (offset < available.length) {
    const claimed =
      declared.length > 0
        ? `the inputs declare only ${offset} (${shortList(declared)})`
        : 'no input declares binary_data_size';
    throw new GalenError(
      'invalid_input',
      `${available.length} bytes follow the JSON inference header but ${claimed}; every byte after the header must belong to an input with binary_data_size`,
    );
  }
  return ranges.map((r) => r && available.subarray(r.start, r.end));
}

/**
 * The inputs of an inference request in their wire form: what each declares (datatype and shape,
 * checked here) and, for `InferenceService.infer` to call once those pass the version's signature
 * and the limits, their decoding from JSON `data` or from the input's `binary_data_size` bytes of
 * `binary` (the body after the JSON header). The framing is checked here too: it costs nothing.
 * Every problem names the input.
 */
export function encodedInferInputs(header: InferHeader, binary: Buffer | undefined): EncodedInputs {
  const raw = binaryInputBytes(header.inputs, binary);
  const declared = header.inputs.map((input) => ({
    name: input.name,
    datatype: parseDatatype(input.name, input.datatype),
    shape: parseShape(input.name, input.shape),
  }));
  return {
    declared,
    decode: (budget) =>
      header.inputs.map((input, i) => {
        const { datatype, shape } = declared[i]!;
        const bytes = raw[i];
        if (bytes !== undefined) return tensorFromRaw(input.name, datatype, shape, bytes, budget);
        if (input.data === undefined)
          throw new GalenError('invalid_input', `input "${input.name}" has no "data"`);
        const tensor = tensorFromJson(input.name, datatype, shape, input.data, budget);
        const contentType = input.parameters?.['content_type'];
        if (contentType === undefined) return tensor;
        if (contentType !== 'base64' || datatype !== 'BYTES') {
          throw new GalenError(
            'invalid_input',
            `input "${input.name}" has content_type ${parameterText(contentType)}; the one content type Galen reads is "base64", for BYTES inputs (e.g. image files in JSON)`,
          );
        }
        return {
          ...tensor,
          data: (tensor.data as Buffer[]).map((b, k) => fromBase64(input.name, k, b)),
        };
      }),
  };
}

/**
 * Decodes the inputs of an inference request into tensors at once, within the default limits, for
 * callers that take tensors rather than going through `InferenceService.infer`.
 */
export function decodeInferInputs(header: InferHeader, binary: Buffer | undefined): Tensor[] {
  return encodedInferInputs(header, binary).decode(new TensorBudget());
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** One base64 element of a BYTES input, decoded; anything that is not base64 is refused. */
function fromBase64(name: string, element: number, text: Buffer): Buffer {
  const value = text.toString('utf8').replace(/\s+/g, '');
  if (value.length % 4 !== 0 || !BASE64.test(value)) {
    throw new GalenError(
      'invalid_input',
      `input "${name}" element ${element} is not base64, as its content_type "base64" says`,
    );
  }
  return Buffer.from(value, 'base64');
}

/** Which outputs a request asks for (undefined: all) and which of them go back as binary. */
export interface OutputPlan {
  readonly names: string[] | undefined;
  binary(name: string): boolean;
}

function flag(parameters: InferHeader['parameters'], key: string, owner: string): boolean | undefined {
  const value = parameters?.[key];
  if (value === undefined || typeof value === 'boolean') return value;
  throw new GalenError(
    'invalid_input',
    `${owner} has ${key} ${parameterText(value)}; it must be true or false`,
  );
}

/**
 * Reads the outputs a request asks for and how each is returned: binary when the output says
 * `binary_data: true`, or when the request says `binary_data_output: true` and the output does
 * not say `binary_data: false` (the per-output choice wins, as in Triton).
 *
 * @example
 * const plan = planOutputs({
 *   parameters: { binary_data_output: true },
 *   inputs: [],
 *   outputs: [{ name: 'label', parameters: { binary_data: false } }, { name: 'probabilities' }],
 * });
 * plan.binary('label'); // false
 * plan.binary('probabilities'); // true
 */
export function planOutputs(header: InferHeader): OutputPlan {
  const all = flag(header.parameters, 'binary_data_output', 'the request') ?? false;
  if (header.outputs === undefined) return { names: undefined, binary: () => all };
  const chosen = new Map<string, boolean>();
  for (const output of header.outputs) {
    const binary = flag(output.parameters, 'binary_data', `output ${quoted(output.name)}`);
    if (binary !== undefined) chosen.set(output.name, binary);
  }
  return { names: header.outputs.map((o) => o.name), binary: (name) => chosen.get(name) ?? all };
}

/** A response ready to send: extra headers and either a JSON object or the framed bytes. */
export interface InferReply {
  headers: Record<string, string>;
  payload: Record<string, unknown> | Buffer;
}

/**
 * Builds the inference response: plain JSON when no output is binary; otherwise the JSON header
 * (binary outputs carry `binary_data_size` and no `data`) followed by their bytes in output
 * order, with `Inference-Header-Content-Length`. Binary outputs are never JSON-encoded.
 */
export function encodeInferResponse(
  head: Record<string, unknown>,
  outputs: readonly Tensor[],
  plan: OutputPlan,
): InferReply {
  const raw: Buffer[] = [];
  const described = outputs.map((t) => {
    const spec = { name: t.name, datatype: t.datatype, shape: t.shape };
    if (!plan.binary(t.name)) return { ...spec, data: tensorDataToJson(t) };
    const bytes = tensorToRaw(t);
    raw.push(bytes);
    return { ...spec, parameters: { binary_data_size: bytes.length } };
  });
  const body = { ...head, outputs: described };
  if (raw.length === 0) return { headers: {}, payload: body };
  const header = Buffer.from(JSON.stringify(body), 'utf8');
  return {
    headers: {
      'content-type': 'application/octet-stream',
      [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.length),
    },
    payload: Buffer.concat([header, ...raw]),
  };
}
