import { pickRangeBounds } from '../../lib/backfill/key-ranges';
import { reachedMilestone } from '../../lib/phases/backfill-ranges';

describe('key ranges for the parallel backfill (pure)', () => {
  const histogram = Array.from({ length: 101 }, (_, i) => String(i * 10)); // 0 … 1000, as pg_stats gives 101 bounds

  it('splits at evenly spaced histogram bounds', () => {
    expect(pickRangeBounds(histogram, 4)).toEqual(['250', '500', '750']);
    expect(pickRangeBounds(histogram, 2)).toEqual(['500']);
    expect(pickRangeBounds(histogram, 1)).toEqual([]);
  });

  it('never splits at the largest key (an empty last range) and never twice at one key', () => {
    expect(pickRangeBounds(['1', '2'], 4)).toEqual(['1']);
    expect(pickRangeBounds(['5', '5', '5', '9'], 3)).toEqual(['5']);
    expect(pickRangeBounds(['7'], 4)).toEqual([]);
    expect(pickRangeBounds([], 4)).toEqual([]);
  });

  it('names the highest milestone reached (25/50/75); 100 is the summary’s', () => {
    expect(reachedMilestone(0, 1000)).toBeNull();
    expect(reachedMilestone(249, 1000)).toBeNull();
    expect(reachedMilestone(250, 1000)).toBe(25);
    expect(reachedMilestone(760, 1000)).toBe(75);
    expect(reachedMilestone(1000, 1000)).toBe(75);
    expect(reachedMilestone(10, 0)).toBeNull();
  });
});
