/**
 * A market split problem (Cornuéjols and Dawande, 1999) as optimisation-model JSON: 50 binary
 * variables must split each of 6 products' 50 weights (random in 0…99) exactly in half; slack
 * variables make every choice feasible and the objective is their sum. The LP relaxation is 0, and
 * these instances (n = 10(m − 1)) are known to defeat branch and bound: without lattice methods no
 * solver closes the gap, so a time limit of seconds stops it with a solution and a positive gap on
 * any machine, however fast. (A hard instance by construction, not a bet on the machine's speed.)
 */
export function marketSplitModel(seed: number) {
  let state = seed;
  const random = (): number => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const products = 6;
  const items = 10 * (products - 1);
  const x = Array.from({ length: items }, (_, j) => `x${j}`);
  const weights = Array.from({ length: products }, () => x.map(() => Math.floor(random() * 100)));
  return {
    sense: 'minimize',
    variables: [
      ...x.map((name) => ({ name, type: 'binary' })),
      ...weights.flatMap((_, i) => [
        { name: `over${i}`, lower: 0 },
        { name: `under${i}`, lower: 0 },
      ]),
    ],
    constraints: weights.map((w, i) => ({
      name: `split${i}`,
      terms: { ...Object.fromEntries(x.map((name, j) => [name, w[j]!])), [`over${i}`]: -1, [`under${i}`]: 1 },
      equals: Math.floor(w.reduce((a, b) => a + b, 0) / 2),
    })),
    objective: {
      linear: Object.fromEntries(
        weights.flatMap((_, i) => [
          [`over${i}`, 1],
          [`under${i}`, 1],
        ]),
      ),
    },
  };
}

/** Variables, constraints and non-zeros of {@link marketSplitModel}. */
export const MARKET_SPLIT_SIZE = { variables: 62, constraints: 6, nonzeros: 312 } as const;
