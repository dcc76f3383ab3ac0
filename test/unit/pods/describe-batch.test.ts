import { describe, expect, it } from 'vitest';
import type { ContainerGroup } from '../../../provider/cloud/model.ts';
import { DESCRIBE_BATCH_MAX, DescribeBatcher } from '../../../provider/pods/describe-batch.ts';

const group = (id: string) => ({ id }) as ContainerGroup;

/** A cloud that records each DescribeContainerGroups call and knows the given ids. */
function cloudKnowing(known: readonly string[], fail?: Error) {
  const calls: string[][] = [];
  return {
    calls,
    describeContainerGroups: (ids: readonly string[]) => {
      calls.push([...ids]);
      return fail ? Promise.reject(fail) : Promise.resolve(ids.filter((id) => known.includes(id)).map(group));
    },
  };
}

describe('DescribeBatcher', () => {
  it('asks once for the ids requested in the same window, and answers each caller', async () => {
    const cloud = cloudKnowing(['eci-a', 'eci-b']);
    const batcher = new DescribeBatcher({ cloud, windowMs: 5 });
    const [a, b, gone, aAgain] = await Promise.all(['eci-a', 'eci-b', 'eci-gone', 'eci-a'].map((id) => batcher.describe(id)));
    expect(cloud.calls).toEqual([['eci-a', 'eci-b', 'eci-gone']]);
    expect([a?.id, b?.id, gone, aAgain?.id]).toEqual(['eci-a', 'eci-b', undefined, 'eci-a']);
  });

  it('sends a full batch at once and never more ids per call than ECI accepts', async () => {
    const ids = Array.from({ length: DESCRIBE_BATCH_MAX + 3 }, (_, i) => `eci-${i}`);
    const cloud = cloudKnowing(ids);
    const batcher = new DescribeBatcher({ cloud, windowMs: 5 });
    const found = await Promise.all(ids.map((id) => batcher.describe(id)));
    expect(found.map((g) => g?.id)).toEqual(ids);
    expect(cloud.calls.map((c) => c.length)).toEqual([DESCRIBE_BATCH_MAX, 3]);
  });

  it('a failed call rejects every caller of its batch (none reads it as gone)', async () => {
    const cloud = cloudKnowing([], new Error('ServiceUnavailable'));
    const batcher = new DescribeBatcher({ cloud, windowMs: 5 });
    const results = await Promise.allSettled([batcher.describe('eci-a'), batcher.describe('eci-b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
