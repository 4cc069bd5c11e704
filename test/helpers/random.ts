/** The project's seeded PRNG (mulberry32), so index test failures reproduce. */
export { seededRandom } from '../../libs/index/seeded-random/index.js';

/** One standard normal sample (Box-Muller), drawn fresh each call (no cached pair). */
export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
