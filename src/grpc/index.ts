/** The gRPC edge: Open Inference Protocol v2 (`inference.GRPCInferenceService`) over Galen's services. */
export { startGrpcServer } from './grpc-server.js';
export type { GrpcServer, GrpcServerOptions } from './grpc-server.js';
export { PROTO_LOADER_OPTIONS, protoPath } from './proto.js';
