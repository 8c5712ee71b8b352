import { describe, expect, it } from 'vitest';
import type { Signature } from '../core/index.js';
import { versionMetadataReaders } from './version-metadata.js';

const signature: Signature = {
  inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 1, 2, 2] }],
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
};
const declared = (metadata: Record<string, string>): object =>
  Object.assign({}, ...versionMetadataReaders.signature.map((read) => read(metadata, signature)));

describe('versionMetadataReaders', () => {
  it('reads an encoded-image input a model declares (galen.image_inputs)', () => {
    const image = { name: 'image', into: 'pixels', channels: 1, height: 2, width: 2 };
    expect(declared({ 'galen.image_inputs': JSON.stringify([image]) })).toEqual({ imageInputs: [image] });
  });

  it('declares nothing for a model that declares nothing', () => {
    expect(declared({ producer: 'x' })).toEqual({});
  });

  it('refuses a declaration that does not fit the graph, naming the key', () => {
    const image = { name: 'image', into: 'pixels', channels: 3, height: 2, width: 2 };
    expect(() => declared({ 'galen.image_inputs': JSON.stringify([image]) })).toThrow(
      /"galen.image_inputs" metadata is invalid: entry 0 feeds "pixels", which must be an FP32 graph input of shape \[-1, 3, 2, 2\]/,
    );
  });

  it('checks a feature map against the signature (every input mapped)', () => {
    expect(() => versionMetadataReaders.featureMap({ inputs: {} }, signature)).toThrow(/pixels/);
  });
});
