// Quantiles from histogram buckets, as Prometheus' histogram_quantile computes them: find the
// bucket the rank falls in and interpolate linearly between its bounds.

/**
 * The q-quantile (0 < q < 1) of observations counted in buckets.
 *
 * `bounds` are the finite upper bounds (ascending, `le`-inclusive); `counts` holds one count per
 * bucket, not cumulative, with the +Inf bucket last (bounds.length + 1 values). As in Prometheus:
 * the first bucket's lower bound is 0; a rank in the +Inf bucket answers the highest finite
 * bound. Null when the buckets are empty.
 */
export function histogramQuantile(q: number, bounds: readonly number[], counts: ArrayLike<number>, from = 0): number | null {
  const n = bounds.length;
  let total = 0;
  for (let b = 0; b <= n; b++) total += counts[from + b]!;
  if (!(total > 0)) return null;
  const rank = q * total;
  let below = 0;
  for (let b = 0; b <= n; b++) {
    const c = counts[from + b]!;
    if (below + c >= rank) {
      if (b === n) return n > 0 ? bounds[n - 1]! : null;
      if (b === 0 && bounds[0]! <= 0) return bounds[0]!;
      const start = b === 0 ? 0 : bounds[b - 1]!;
      const end = bounds[b]!;
      return start + (end - start) * ((rank - below) / c);
    }
    below += c;
  }
  // Only reached through rounding when rank is within an ulp of the total.
  return n > 0 ? bounds[n - 1]! : null;
}
