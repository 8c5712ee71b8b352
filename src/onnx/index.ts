/** Reads and writes ONNX protobuf: the only module that touches `onnx-proto`. */
export { DEFAULT_IR_VERSION, DEFAULT_OPSET, ML_DOMAIN, OnnxGraphBuilder, attr } from './graph-builder.js';
export type {
  OnnxAttributeValue,
  OnnxDim,
  OnnxModelOptions,
  OnnxNodeSpec,
  OnnxTensorValue,
} from './graph-builder.js';
export { onnxElemType } from './proto.js';
export { readOnnxModelInfo } from './read-model-info.js';
export { assertNoExternalData, findExternalData } from './external-data.js';
export type { ExternalTensor } from './external-data.js';
export type { OnnxModelInfo } from './read-model-info.js';
export { compileTabularNetwork, compileTabularPipeline, compileVectorTreeModel } from './tabular-pipeline.js';
export type { CompileTabularNetworkOptions, CompileTabularPipelineOptions } from './tabular-pipeline.js';
export { addClassifierHead } from './classifier-head.js';
export type { ClassifierHeadOptions } from './classifier-head.js';
