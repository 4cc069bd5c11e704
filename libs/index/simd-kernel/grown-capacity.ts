/**
 * The grow step shared by the arenas (this library's row arenas, the face index's id
 * arena): at least `needed`, and at least double `current`, so n appends cost O(n)
 * copying in all.
 */
export function grownCapacity(current: number, needed: number): number {
  return Math.max(needed, current * 2);
}
