/**
 * The value of rank `nth` (0-based) among values[0..count), by quickselect (Hoare
 * partitions around the middle value); reorders values[0..count). Expected O(count).
 */
export function nthSmallest(values: Float32Array | Float64Array, count: number, nth: number): number {
  if (!(nth >= 0 && nth < count)) throw new RangeError(`nth must be in 0..${count - 1}, got ${nth}`);
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    if (nth <= j) hi = j;
    else if (nth >= i) lo = i;
    else break;
  }
  return values[nth];
}
