/**
 * Child process: the bare-server ceiling. Fastify 5 (Galen's HTTP framework) and grpc-js (its gRPC
 * framework) answering the same inference paths with no model behind them: each request is
 * parsed as Galen parses it (JSON body; binary: the JSON header after
 * `Inference-Header-Content-Length`; gRPC: the protobuf message), and answered with a reply
 * Galen gave earlier for that model and encoding, so both bodies are the same size as Galen's.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import Fastify from 'fastify';
import { childServerMain } from './child-process.js';
import { inferenceService } from './grpc-client.js';
import type { GrpcInferResponse } from './grpc-client.js';

/** Galen's replies for one model, captured by the orchestrator. */
export interface EchoReplies {
  /** The JSON response body as text. */
  json?: string;
  /** The binary-extension response: its headers and body. */
  binary?: { headers: Record<string, string>; body: Uint8Array };
  grpc?: GrpcInferResponse;
}

export interface EchoConfig {
  replies: Record<string, EchoReplies>;
}

export interface EchoInfo {
  /** `http://127.0.0.1:port` */
  origin: string;
  /** `127.0.0.1:port` */
  grpcAddress: string;
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

async function start(config: EchoConfig): Promise<{ info: EchoInfo; close(): Promise<void> }> {
  const replies = new Map(
    Object.entries(config.replies).map(([model, r]) => [
      model,
      {
        json: r.json === undefined ? undefined : (JSON.parse(r.json) as unknown),
        binary: r.binary && { headers: r.binary.headers, body: asBuffer(r.binary.body) },
        grpc: r.grpc && { ...r.grpc, raw_output_contents: r.grpc.raw_output_contents.map(asBuffer) },
      },
    ]),
  );

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  app.post('/v2/models/:model/infer', async (request, reply) => {
    const { model } = request.params as { model: string };
    const canned = replies.get(model);
    if (!canned) return reply.code(404).send({ error: `no echo reply for model "${model}"` });
    if (Buffer.isBuffer(request.body)) {
      const length = Number(request.headers['inference-header-content-length']);
      const header = JSON.parse(request.body.subarray(0, length).toString('utf8')) as { inputs?: unknown[] };
      if (!canned.binary || !Array.isArray(header.inputs))
        return reply.code(400).send({ error: 'bad request' });
      return reply.headers(canned.binary.headers).send(canned.binary.body);
    }
    if (canned.json === undefined) return reply.code(400).send({ error: 'no JSON reply' });
    return reply.send(canned.json);
  });
  const origin = await app.listen({ host: '127.0.0.1', port: 0 });

  const grpc = new Server();
  grpc.addService(inferenceService(), {
    ModelInfer: (
      call: ServerUnaryCall<{ model_name: string }, GrpcInferResponse>,
      callback: sendUnaryData<GrpcInferResponse>,
    ) => {
      const canned = replies.get(call.request.model_name)?.grpc;
      if (canned) callback(null, canned);
      else callback({ code: 5, details: `no echo reply for model "${call.request.model_name}"` });
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );

  return {
    info: { origin, grpcAddress: `127.0.0.1:${grpcPort}` },
    close: async () => {
      grpc.forceShutdown();
      await app.close();
    },
  };
}

childServerMain(start);
