// sp-arithmetic behaviour the election depends on, from upstream's own tests and doc examples
// (polkadot-sdk substrate/primitives/arithmetic/src/rational.rs tests, per_things.rs doc tests).
import {
  Percent, Perbill, U128_MAX, from_rational, mul_ceil, mul_floor, multiply_by_rational_with_rounding, normalize,
  perThingMul, saturatingAdd, saturatingMul, saturatingSub, tcmp,
} from '../../src/election/arithmetic.js';

const MAX64 = (1n << 64n) - 1n;

test('rational.rs multiply_by_rational_with_rounding_works', () => {
  const f = (a: bigint, b: bigint, c: bigint) => multiply_by_rational_with_rounding(a, b, c, 'Down');
  expect(f(7n, 2n, 3n)).toBe(4n);
  expect(f(U128_MAX, 2n, 3n)).toBe((U128_MAX / 3n) * 2n);
  expect(f(U128_MAX, 5n, 7n)).toBe((U128_MAX / 7n) * 5n + (3n * 5n) / 7n);
  expect(f(U128_MAX, 555n, 1000n)).toBe((U128_MAX / 1000n) * 555n + (455n * 555n) / 1000n);
  expect(f(2n * MAX64 - 1n, MAX64 - 1n, MAX64)).toBe(2n * MAX64 - 3n);
  expect(f((1n << 66n) - 1n, (1n << 65n) - 1n, 1n << 65n)).toBe(73786976294838206461n);
  expect(multiply_by_rational_with_rounding(1_000_000_000n, U128_MAX / 8n, U128_MAX / 2n, 'Up')).toBe(250000000n);
  expect(f(29459999999999999988000n, 1000000000000000000n, 10000000000000000000n)).toBe(2945999999999999998800n);
});

test('rational.rs multiply_by_rational_with_rounding_a_b_are_interchangeable; None on overflow or /0', () => {
  expect(multiply_by_rational_with_rounding(10n, U128_MAX, U128_MAX / 2n, 'NearestPrefDown')).toBe(20n);
  expect(multiply_by_rational_with_rounding(U128_MAX, 10n, U128_MAX / 2n, 'NearestPrefDown')).toBe(20n);
  expect(multiply_by_rational_with_rounding(U128_MAX, 2n, 1n, 'Down')).toBeUndefined();
  expect(multiply_by_rational_with_rounding(1n, 1n, 0n, 'Down')).toBeUndefined();
});

test('rational.rs to_denom_works (to_den rounds to nearest, ties down)', () => {
  const toDen = (n: bigint, d: bigint, den: bigint) => multiply_by_rational_with_rounding(n, den, d, 'NearestPrefDown');
  expect(toDen(1n, 5n, 10n)).toBe(2n);
  expect(toDen(4n, 10n, 5n)).toBe(2n);
  expect(toDen(U128_MAX - 10n, U128_MAX, 10n)).toBe(10n);
  expect(toDen(U128_MAX / 2n, U128_MAX, 10n)).toBe(5n);
  expect(toDen(U128_MAX / 2n, U128_MAX, 1_000_000_000n)).toBe(500_000_000n);
});

test('per_things.rs doc examples: Mul rounds to nearest, mul_floor and mul_ceil', () => {
  const pc = (x: bigint) => from_rational(Percent, x, 100n);
  expect(perThingMul(Percent, pc(34n), 10n)).toBe(3n);
  expect(perThingMul(Percent, pc(36n), 10n)).toBe(4n);
  expect(mul_floor(Percent, pc(36n), 10n)).toBe(3n);
  expect(mul_ceil(Percent, pc(34n), 10n)).toBe(4n);
  // Ties go down: 50% of 1 is 0.
  expect(perThingMul(Percent, pc(50n), 1n)).toBe(0n);
  expect(perThingMul(Perbill, 500_000_000n, 3n)).toBe(1n);
  expect(from_rational(Percent, 989n, 1000n)).toBe(98n);
});

test('tcmp treats values within the threshold as equal', () => {
  expect(tcmp(1010n, 1000n, 10n)).toBe(0);
  expect(tcmp(1011n, 1000n, 10n)).toBe(1);
  expect(tcmp(989n, 1000n, 10n)).toBe(-1);
  expect(tcmp(990n, 1000n, 10n)).toBe(0);
  expect(tcmp(5n, 4n, 0n)).toBe(1);
});

test('u128 saturation', () => {
  expect(saturatingAdd(U128_MAX, 1n)).toBe(U128_MAX);
  expect(saturatingSub(1n, 2n)).toBe(0n);
  expect(saturatingMul(1n << 64n, 1n << 64n)).toBe(U128_MAX);
});

test('normalize: README example and ranks kept', () => {
  expect(normalize([44n, 55n], 100n)).toEqual([45n, 55n]);
  expect(normalize([], 100n)).toEqual([]);
  expect(normalize([100n], 100n)).toEqual([100n]);
  expect(() => normalize([U128_MAX, 1n], 5n)).toThrow('sum of input cannot fit in `T`');
});
