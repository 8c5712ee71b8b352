/** Images: PNG/JPEG decoding and resizing to a model's pixel shape (sharp), and image datasets (npz, folders). */
export {
  IMAGE_FORMATS,
  MAX_IMAGE_PIXELS,
  decodeImage,
  imageFormatOf,
  pixelsToUnit,
  probeImage,
  resizePixels,
  saliencyOverlayPng,
} from './image-codec.js';
export type { ImageFormat, PixelShape } from './image-codec.js';
export {
  describeImageArchive,
  detectImageArchive,
  isZip,
  loadImageArchive,
  packImageFolder,
} from './image-dataset.js';
export type { ImageArchiveFormat, ImageDatasetSchema, LoadedImages } from './image-dataset.js';
export { DEFAULT_ARCHIVE_LIMITS } from './zip-archive.js';
export type { ArchiveLimits } from './zip-archive.js';
export { IMAGE_INPUTS_METADATA_KEY, decodeImageInputs, imageInputsOf } from './image-inputs.js';
