/** Facts about the Open Inference Protocol that every edge (HTTP, gRPC) reports the same way. */

/** The OIP extensions Galen offers, listed in server metadata on every protocol (as Triton does). */
export const OIP_EXTENSIONS: readonly string[] = ['binary_tensor_data', 'model_repository', 'statistics'];
