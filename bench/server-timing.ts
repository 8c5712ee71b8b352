/**
 * Reads the standard `Server-Timing` response header (W3C Server Timing), e.g.
 * `total;dur=0.412, queue;dur=0.010, compute;dur=0.250`; `dur` is in milliseconds.
 */

/** Each metric's `dur` in milliseconds, by metric name; metrics without a numeric `dur` are left out. */
export function parseServerTiming(header: string | string[] | undefined): Map<string, number> {
  const durations = new Map<string, number>();
  if (header === undefined) return durations;
  const text = Array.isArray(header) ? header.join(',') : header;
  for (const metric of text.split(',')) {
    const [name, ...params] = metric.split(';').map((p) => p.trim());
    if (!name) continue;
    for (const param of params) {
      const match = /^dur\s*=\s*"?([0-9.eE+-]+)"?$/.exec(param);
      const value = match ? Number(match[1]) : Number.NaN;
      if (Number.isFinite(value)) durations.set(name, value);
    }
  }
  return durations;
}
