/**
 * The code of an ONNX Runtime worker thread. onnxruntime-node runs a session synchronously on
 * the calling JavaScript thread, so sessions live in workers: the main thread keeps parsing
 * requests, batching and answering while models compute.
 *
 * The worker body is one self-contained function that is started from its source text
 * (`new Worker(source, { eval: true })`). That way the same code runs from `src/` under the
 * test runner and from `dist/` in production, with no separate entry file to locate. It must
 * therefore use nothing from its surroundings: no imports, only its `require` argument.
 */

/** A tensor crossing the thread boundary: ONNX Runtime's element type, dims and flat data. */
export interface WireTensor {
  readonly name: string;
  /** ONNX Runtime's type name: 'float32', 'int64', 'string', ... */
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: ArrayBufferView | readonly string[];
}

/** What ONNX Runtime reports about one input or output. */
export interface WireValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

export interface WireSessionMetadata {
  readonly inputs: readonly WireValueMetadata[];
  readonly outputs: readonly WireValueMetadata[];
}

/** What a session is opened from: a file path, or the model file's bytes. */
export type ModelSource = string | Uint8Array;

export type WorkerRequest =
  | {
      readonly op: 'open';
      readonly id: number;
      readonly sid: number;
      /** A file path, or the model file's bytes (decrypted in the main thread). */
      readonly model: ModelSource;
      readonly options: object;
    }
  | {
      readonly op: 'run';
      readonly id: number;
      readonly sid: number;
      readonly feeds: readonly WireTensor[];
      readonly outputs: readonly string[];
    }
  | { readonly op: 'close'; readonly id: number; readonly sid: number };

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly metadata: WireSessionMetadata }
  | { readonly id: number; readonly ok: true; readonly outputs: WireTensor[]; readonly computeNs: number }
  | { readonly id: number; readonly ok: true }
  | { readonly id: number; readonly ok: false; readonly error: string };

/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any */
/**
 * The worker's main function. Requests are handled strictly in arrival order, so a session
 * opened before a run is always there when the run is handled.
 */
function sessionWorkerMain(require: (id: string) => any): void {
  const { parentPort, workerData } = require('node:worker_threads');
  const { hrtime } = require('node:process');
  const ort = require(workerData.ortPath);
  const sessions = new Map<number, any>();

  const metadataOf = (list: readonly any[]): WireValueMetadata[] =>
    list.map((m) =>
      m.isTensor
        ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] }
        : { name: m.name, isTensor: false },
    );

  async function handle(request: WorkerRequest): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }> {
    if (request.op === 'open') {
      const session = await ort.InferenceSession.create(request.model, request.options);
      sessions.set(request.sid, session);
      const metadata = {
        inputs: metadataOf(session.inputMetadata),
        outputs: metadataOf(session.outputMetadata),
      };
      return { reply: { id: request.id, ok: true, metadata }, transfer: [] };
    }
    const session = sessions.get(request.sid);
    if (!session) throw new Error(`session ${request.sid} is not open in this worker`);
    if (request.op === 'close') {
      sessions.delete(request.sid);
      await session.release();
      return { reply: { id: request.id, ok: true }, transfer: [] };
    }
    const feeds: Record<string, unknown> = {};
    for (const t of request.feeds) feeds[t.name] = new ort.Tensor(t.type, t.data, t.dims);
    const started = hrtime.bigint();
    const results = await session.run(feeds, request.outputs);
    const computeNs = Number(hrtime.bigint() - started);
    const outputs: WireTensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const name of request.outputs) {
      const value = results[name];
      if (!value) throw new Error(`ONNX Runtime returned no value for output "${name}"`);
      const data = value.data;
      if (ArrayBuffer.isView(data) && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) {
        transfer.push(data.buffer as ArrayBuffer);
      }
      outputs.push({ name, type: value.type, dims: value.dims.map(Number), data });
    }
    return { reply: { id: request.id, ok: true, outputs, computeNs }, transfer };
  }

  let chain: Promise<void> = Promise.resolve();
  parentPort.on('message', (request: WorkerRequest) => {
    chain = chain.then(async () => {
      try {
        const { reply, transfer } = await handle(request);
        parentPort.postMessage(reply, transfer);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        parentPort.postMessage({ id: request.id, ok: false, error } satisfies WorkerReply);
      }
    });
  });
}
/* eslint-enable */

/**
 * The worker's source text. `__name` is defined because some TypeScript transpilers (esbuild
 * with keepNames, used by the test runner) wrap functions in a call to it.
 */
export const SESSION_WORKER_SOURCE = `const __name = (f) => f;\n(${sessionWorkerMain.toString()})(require);\n`;
