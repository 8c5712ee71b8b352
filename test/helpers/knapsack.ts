/**
 * A 500-item, 40-constraint binary multi-knapsack with correlated weights, as optimisation-model
 * JSON: HiGHS finds good solutions fast but cannot prove optimality in a second or two, so a short
 * time limit stops it with a solution and a positive gap.
 */
export function knapsackModel(seed: number) {
  let state = seed;
  const random = (): number => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const items = Array.from({ length: 500 }, (_, j) => ({ name: `x${j}`, base: 20 + random() * 80 }));
  return {
    sense: 'maximize',
    variables: items.map(({ name }) => ({ name, type: 'binary' })),
    constraints: Array.from({ length: 40 }, (_, r) => ({
      name: `capacity${r}`,
      terms: Object.fromEntries(items.map((it) => [it.name, Math.round(it.base + random() * 20)])),
      max: 6000,
    })),
    objective: { linear: Object.fromEntries(items.map((it) => [it.name, Math.round(it.base + 10)])) },
  };
}
