/** IEEE 754 half-precision conversion (Node 20 has no Float16Array). Round-to-nearest-even. */

const bits = new DataView(new ArrayBuffer(8));

/**
 * The half-precision bit pattern nearest to `value`, ties to even. Rounds once, from the double's
 * own bits: going through float32 first would round twice and can land one step off (e.g.
 * 1 + 2^-11 + 2^-40 would become 1 instead of 1 + 2^-10).
 */
export function floatToHalfBits(value: number): number {
  bits.setFloat64(0, value);
  const hi = bits.getUint32(0); // sign, 11 exponent bits, top 20 mantissa bits
  const lo = bits.getUint32(4); // low 32 mantissa bits
  const sign = (hi >>> 16) & 0x8000;
  const exp = (hi >>> 20) & 0x7ff;
  const mant = hi & 0xfffff;
  if (exp === 0x7ff) return sign | 0x7c00 | (mant !== 0 || lo !== 0 ? 0x200 : 0); // Inf or NaN
  const e = exp - 1023 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to Inf
  if (e <= 0) {
    // Subnormal half: a whole number of 2^-24. Scaling by a power of two and taking the
    // fraction are exact, so this is the only rounding. 0x400 (the smallest normal) is right too.
    const scaled = Math.abs(value) * 2 ** 24;
    let half = Math.floor(scaled);
    const rest = scaled - half;
    if (rest > 0.5 || (rest === 0.5 && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 10);
  const rem = mant & 0x3ff; // the next 10 bits; `lo` holds the rest
  if (rem > 0x200 || (rem === 0x200 && (lo !== 0 || half & 1))) half++; // a carry into the exponent is right, up to Inf
  return half;
}

export function halfBitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
