// The integer arithmetic of Substrate's sp-arithmetic that sp-npos-elections relies on, in BigInt:
// u128 saturation (`ExtendedBalance`), `helpers_128bit::multiply_by_rational_with_rounding`
// (exact 256-bit intermediate), `normalize` (lib.rs), the `PerThing` conversions (per_things.rs)
// and `ThresholdOrd::tcmp`. Every rounding mode is the one upstream uses; bit-identical results
// are the point, so nothing here is "simplified".

/** u128::MAX; also `DEN` of seq_phragmen (phragmen.rs: `const DEN: ExtendedBalance = u128::MAX`). */
export const U128_MAX = (1n << 128n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;
export const DEN = U128_MAX;

export function saturatingAdd(a: bigint, b: bigint): bigint {
  const s = a + b;
  return s > U128_MAX ? U128_MAX : s;
}

export function saturatingSub(a: bigint, b: bigint): bigint {
  return a > b ? a - b : 0n;
}

export function saturatingMul(a: bigint, b: bigint): bigint {
  const p = a * b;
  return p > U128_MAX ? U128_MAX : p;
}

/** sp-arithmetic `Rounding` (per_things.rs). */
export type Rounding = 'Up' | 'Down' | 'NearestPrefUp' | 'NearestPrefDown';

function roundQuotient(q: bigint, r: bigint, d: bigint, rounding: Rounding): bigint {
  switch (rounding) {
    case 'Down': return q;
    case 'Up': return r > 0n ? q + 1n : q;
    case 'NearestPrefDown': return r > d / 2n ? q + 1n : q;
    // `d / 2 + d % 2` rather than `(d + 1) / 2`, as upstream, to stay within the type.
    case 'NearestPrefUp': return r >= d / 2n + d % 2n ? q + 1n : q;
  }
}

/**
 * `multiply_by_rational_with_rounding(a, b, c, r)`: round(a * b / c) computed exactly, `undefined`
 * (upstream `None`) when c = 0 or the result does not fit in u128.
 */
export function multiply_by_rational_with_rounding(
  a: bigint, b: bigint, c: bigint, rounding: Rounding,
): bigint | undefined {
  if (c === 0n) return undefined;
  const p = a * b;
  const q = roundQuotient(p / c, p % c, c, rounding);
  return q > U128_MAX ? undefined : q;
}

/** The same, with upstream's `.unwrap_or(Bounded::max_value())` at every seq_phragmen call site. */
export function mulDivFloorSat(a: bigint, b: bigint, c: bigint): bigint {
  if (c === 0n) return U128_MAX;
  const q = (a * b) / c;
  return q > U128_MAX ? U128_MAX : q;
}

/** Upstream's error string when the input of `normalize` overflows its integer type. */
export const NORMALIZE_SUM_OVERFLOW = 'sum of input cannot fit in `T`';

/**
 * sp_arithmetic::normalize: make `input` sum to `target` while keeping each value's rank.
 * Stable sort ascending; when short, add `diff / count` to the current minimum `count` times
 * (moving on once a value reaches `target / count`), then the remainder one unit at a time; when
 * over, the same downward from the maximum with the old minimum as threshold. `typeMax` is the
 * maximum of the integer type `T` (the sum must fit in it), u128 for stakes.
 */
export function normalize(input: readonly bigint[], target: bigint, typeMax: bigint = U128_MAX): bigint[] {
  let sum = 0n;
  for (const t of input) {
    sum += t;
    if (sum > typeMax) throw new RangeError(NORMALIZE_SUM_OVERFLOW);
  }
  const count = input.length;
  if (BigInt(count) > typeMax) throw new RangeError('length of `inputs` cannot fit in `T`');
  if (count === 0) return [];
  const diff = target > sum ? target - sum : sum - target;
  if (diff === 0n) return input.slice();

  const countT = BigInt(count);
  const needsBump = target > sum;
  const perRound = diff / countT;
  let leftover = diff % countT;

  const idx = input.map((_, i) => i);
  // Array.prototype.sort is stable (ES2019), as Rust's sort_by_key.
  idx.sort((a, b) => { const x = input[a]!, y = input[b]!; return x < y ? -1 : x > y ? 1 : 0; });
  const vals = idx.map((i) => input[i]!);

  if (needsBump) {
    let minIndex = 0;
    const threshold = target / countT;
    if (perRound !== 0n) {
      for (let k = 0; k < count; k++) {
        vals[minIndex] = vals[minIndex]! + perRound;
        if (vals[minIndex]! >= threshold) minIndex = (minIndex + 1) % count;
      }
    }
    while (leftover !== 0n) {
      vals[minIndex] = vals[minIndex]! + 1n;
      if (vals[minIndex]! >= threshold) minIndex = (minIndex + 1) % count;
      leftover -= 1n;
    }
  } else {
    let maxIndex = count - 1;
    const threshold = vals[0]!;
    if (perRound !== 0n) {
      for (let k = 0; k < count; k++) {
        const v = vals[maxIndex]!;
        if (v >= perRound) {
          vals[maxIndex] = v - perRound;
        } else {
          leftover += perRound - v;
          vals[maxIndex] = 0n;
        }
        if (vals[maxIndex]! <= threshold) maxIndex = maxIndex === 0 ? count - 1 : maxIndex - 1;
      }
    }
    while (leftover !== 0n) {
      const v = vals[maxIndex]!;
      if (v >= 1n) {
        vals[maxIndex] = v - 1n;
        if (vals[maxIndex]! <= threshold) maxIndex = maxIndex === 0 ? count - 1 : maxIndex - 1;
        leftover -= 1n;
      } else {
        maxIndex = maxIndex === 0 ? count - 1 : maxIndex - 1;
      }
    }
  }

  const out = new Array<bigint>(count);
  for (let k = 0; k < count; k++) out[idx[k]!] = vals[k]!;
  return out;
}

/** A `PerThing` type: parts per ACCURACY, computed in its `Upper` integer type. */
export interface PerThingType {
  name: 'Percent' | 'PerU16' | 'Permill' | 'Perbill' | 'Perquintill';
  accuracy: bigint;
  /** Maximum of `UpperOf<P>`, the type `Vec<P>::normalize` checks the sum against. */
  upperMax: bigint;
}

export const Percent: PerThingType = { name: 'Percent', accuracy: 100n, upperMax: 0xffffn };
export const PerU16: PerThingType = { name: 'PerU16', accuracy: 65535n, upperMax: 0xffffffffn };
export const Permill: PerThingType = { name: 'Permill', accuracy: 1_000_000n, upperMax: 0xffffffffffffffffn };
export const Perbill: PerThingType = { name: 'Perbill', accuracy: 1_000_000_000n, upperMax: 0xffffffffffffffffn };
export const Perquintill: PerThingType = { name: 'Perquintill', accuracy: 1_000_000_000_000_000_000n, upperMax: U128_MAX };

/**
 * `P::from_rational(p, q)`: floor(ACCURACY * p / q), and one (ACCURACY) when q = 0 or p > q
 * (upstream's `unwrap_or_else(|_| Self::one())`).
 */
export function from_rational(P: PerThingType, p: bigint, q: bigint): bigint {
  if (q === 0n || p >= q) return P.accuracy;
  return (P.accuracy * p) / q;
}

/**
 * `overflow_prune_mul`: x * parts / ACCURACY, rounded. Upstream splits x by ACCURACY to stay
 * within the integer type; the fractional part, and so the rounding, is that of the whole product,
 * which BigInt can form directly.
 */
function overflowPruneMul(P: PerThingType, x: bigint, parts: bigint, rounding: Rounding): bigint {
  if (parts === P.accuracy) return x;
  const p = x * parts;
  return roundQuotient(p / P.accuracy, p % P.accuracy, P.accuracy, rounding);
}

/** `impl Mul<N> for P`: rounds to nearest, ties down (`Rounding::NearestPrefDown`). */
export function perThingMul(P: PerThingType, parts: bigint, x: bigint): bigint {
  return overflowPruneMul(P, x, parts, 'NearestPrefDown');
}

/** `PerThing::mul_ceil`. */
export function mul_ceil(P: PerThingType, parts: bigint, x: bigint): bigint {
  return overflowPruneMul(P, x, parts, 'Up');
}

/** `PerThing::mul_floor`. */
export function mul_floor(P: PerThingType, parts: bigint, x: bigint): bigint {
  return overflowPruneMul(P, x, parts, 'Down');
}

/** `ThresholdOrd::tcmp`: equal when within `threshold` of `other`, else the plain order. */
export function tcmp(self: bigint, other: bigint, threshold: bigint): -1 | 0 | 1 {
  const cmp = (a: bigint, b: bigint): -1 | 0 | 1 => (a < b ? -1 : a > b ? 1 : 0);
  if (threshold === 0n) return cmp(self, other);
  const upper = saturatingAdd(other, threshold);
  const lower = saturatingSub(other, threshold);
  if (upper <= lower) return cmp(self, other);
  const lo = cmp(self, lower);
  const hi = cmp(self, upper);
  if (lo === 1 && hi === 1) return 1;
  if (lo === -1 && hi === -1) return -1;
  return 0;
}
