/**
 * The max of doubles as a max of int64 keys. MPI_MAX on MPI_DOUBLE is `a > b ? a : b` in MPICH, so a NaN is kept or
 * lost depending on the order the ranks' values meet, and max(−0, +0) depends on it too. The keys below order like
 * the doubles (−0 below +0) with NaN above +∞; an integer max is exact and order-free, so every rank gets the same
 * key whatever algorithm MPI picks, and NaN anywhere gives NaN (as the Communicator interface asks).
 *
 * Key of a double's bits b (as int64): b for b ≥ 0; b with its 63 low bits flipped for b < 0 (a negative double's
 * bits grow with its magnitude); every NaN becomes the canonical positive quiet NaN 0x7ff8000000000000, whose key is
 * above +∞'s 0x7ff0000000000000. The transform is in place on the double's two 32-bit halves.
 */
import { endianness } from 'node:os';

/** Index of the high 32-bit half of a double within its pair of Int32Array elements. */
const HIGH = endianness() === 'LE' ? 1 : 0;
const LOW = 1 - HIGH;

/** In place: every double of `data` becomes its int64 key (readable as MPI_INT64_T). */
export function toMaxKeys(data: Float64Array): void {
  const words = new Int32Array(data.buffer, data.byteOffset, data.length * 2);
  for (let i = 0, j = 0; i < data.length; i++, j += 2) {
    if (data[i] !== data[i]) {
      words[j + HIGH] = 0x7ff80000;
      words[j + LOW] = 0;
    } else flip(words, j);
  }
}

/** In place: the inverse of {@link toMaxKeys} (the canonical NaN stays a NaN). */
export function fromMaxKeys(data: Float64Array): void {
  const words = new Int32Array(data.buffer, data.byteOffset, data.length * 2);
  for (let j = 0; j < words.length; j += 2) flip(words, j);
}

/** Flips the 63 low bits of a negative int64 (its own inverse), without a branch on the sign. */
function flip(words: Int32Array, j: number): void {
  const sign = words[j + HIGH] >> 31;
  words[j + HIGH] ^= sign & 0x7fffffff;
  words[j + LOW] ^= sign;
}
