/** Deterministic pseudo-random numbers, so every run benchmarks the same weights and images. */
export { mulberry32 as seededRandom } from '../src/training/index.js';
