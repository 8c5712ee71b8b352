/**
 * Triton's additions to the gRPC service (proto/triton_grpc_extensions.proto): ModelConfig,
 * ModelStatistics and RepositoryIndex, answered from the same domain functions as the HTTP
 * routes, with the same permission (`model:read`).
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Galen } from '../app/index.js';
import { GalenError } from '../core/index.js';
import { modelConfigOf, repositoryIndex, tritonStatistics } from '../serving/index.js';
import type { DefineRpc } from './unary-call.js';

/** `ModelConfigRequest` and `ModelStatisticsRequest`: a model name and an optional version. */
interface NamedVersionRequest {
  name: string;
  version: string;
}

interface RepositoryIndexRequest {
  repository_name: string;
  ready: boolean;
}

/** Proto3 has no "absent" for strings: an empty one means "not given". */
const optional = (value: string): string | undefined => (value === '' ? undefined : value);

export function tritonImplementation(galen: Galen, rpc: DefineRpc): UntypedServiceImplementation {
  return {
    ModelConfig: rpc(
      { name: 'ModelConfig', permission: 'model:read' },
      async (request: NamedVersionRequest) => {
        if (request.name === '') {
          throw new GalenError('invalid_input', 'ModelConfig needs "name": the name of a model');
        }
        const config = await modelConfigOf(
          galen.inference,
          request.name,
          optional(request.version),
          galen.config.runtime.maxConcurrentPerModel,
        );
        return { config };
      },
    ),

    ModelStatistics: rpc(
      { name: 'ModelStatistics', permission: 'model:read' },
      async (request: NamedVersionRequest) => {
        const model = optional(request.name);
        if (model === undefined && request.version !== '') {
          throw new GalenError('invalid_input', 'ModelStatistics with a "version" needs "name" as well');
        }
        const stats = await galen.inference.statistics(model, optional(request.version));
        return { model_stats: stats.map(tritonStatistics) };
      },
    ),

    RepositoryIndex: rpc(
      { name: 'RepositoryIndex', permission: 'model:read' },
      async (request: RepositoryIndexRequest) => ({
        models: await repositoryIndex(galen.registry, galen.models, request.ready),
      }),
    ),
  };
}
