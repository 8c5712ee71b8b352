/**
 * Per-row sample weights for the linear trainers (class weights become per-row weights). A weight
 * multiplies that row's loss, so an integer weight n fits exactly as if the row appeared n times.
 */
import { invalidInput } from '../core/index.js';

/** Validates `weights` for `rows` rows (all 1 when omitted): finite, ≥ 0, and not all 0. */
export function toSampleWeights(weights: ArrayLike<number> | undefined, rows: number): Float64Array {
  if (weights === undefined) return new Float64Array(rows).fill(1);
  if (weights.length !== rows) {
    throw invalidInput(`there are ${weights.length} sample weights for ${rows} rows; give one per row`);
  }
  const out = Float64Array.from(weights);
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const w = out[i] as number;
    if (!Number.isFinite(w) || w < 0) {
      throw invalidInput(`sample weight ${i} is ${w}; sample weights must be finite numbers ≥ 0`);
    }
    total += w;
  }
  if (!(total > 0)) throw invalidInput('sample weights are all 0; at least one row needs a positive weight');
  return out;
}

/** Validates an L1 or L2 penalty strength. */
export function checkPenalty(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0)
    throw invalidInput(`${name} is ${value}; expected a finite number ≥ 0`);
}
