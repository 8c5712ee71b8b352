/**
 * Seeded, stratified train/test splitting. A fixed seed gives the same split on every machine and
 * Node version, so a model's recorded split can be reproduced exactly.
 */
import { invalidInput } from '../core/index.js';

/**
 * The mulberry32 generator: 32 bits of state, uniform floats in [0, 1). Small and fast; not for secrets.
 * Implemented here because `Math.random` cannot be seeded.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Row indices of each side of a split, ascending. */
export interface TrainTestSplit {
  readonly train: number[];
  readonly test: number[];
}

/**
 * Splits row indices so each class keeps its share on both sides: per class, `round(count × testFraction)`
 * randomly chosen rows go to the test set.
 *
 * @example const { train, test } = stratifiedSplit(labels, 0.2, 42);
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  testFraction: number,
  seed: number,
): TrainTestSplit {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw invalidInput(`testFraction is ${testFraction}; expected a number strictly between 0 and 1`);
  }
  if (!Number.isSafeInteger(seed)) throw invalidInput(`seed is ${seed}; expected an integer`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    if (!Number.isFinite(label)) throw invalidInput(`label ${i} is ${label}; expected a finite number`);
    const members = byClass.get(label);
    if (members) members.push(i);
    else byClass.set(label, [i]);
  }
  const random = mulberry32(seed);
  const train: number[] = [];
  const test: number[] = [];
  // Visit classes in a fixed order so the random stream, and so the split, depends only on the data.
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(label) ?? [];
    shuffle(members, random);
    const nTest = Math.round(members.length * testFraction);
    test.push(...members.slice(0, nTest));
    train.push(...members.slice(nTest));
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/** Fisher–Yates, in place. */
function shuffle(items: number[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i] as number;
    items[i] = items[j] as number;
    items[j] = tmp;
  }
}
