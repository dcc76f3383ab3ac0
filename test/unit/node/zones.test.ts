import { describe, expect, it } from 'vitest';
import type { VSwitch } from '../../../provider/cloud/model.ts';
import { freeIpsByZone, missingVSwitchIds, missingVSwitchNotice, zonesOfVSwitches } from '../../../provider/node/zones.ts';

const vsw = (id: string, zoneId: string, availableIpCount: number, status: VSwitch['status'] = 'Available'): VSwitch => ({
  id,
  zoneId,
  availableIpCount,
  status,
  vpcId: 'vpc-1',
  cidrBlock: '10.0.0.0/24',
});

describe('zonesOfVSwitches', () => {
  it.each([
    { name: 'empty', input: [], order: undefined, expected: [] },
    {
      name: 'groups by zone, zones sorted, ids in configured order',
      input: [vsw('vsw-c', 'z-b', 5), vsw('vsw-a', 'z-a', 10), vsw('vsw-b', 'z-b', 7)],
      order: ['vsw-b', 'vsw-a', 'vsw-c'],
      expected: [
        { zone: 'z-a', vSwitchIds: ['vsw-a'], freeIps: 10 },
        { zone: 'z-b', vSwitchIds: ['vsw-b', 'vsw-c'], freeIps: 12 },
      ],
    },
    {
      name: 'a Pending vSwitch adds no free IP; a negative count counts as 0; duplicates once',
      input: [vsw('vsw-a', 'z', 10, 'Pending'), vsw('vsw-b', 'z', -3), vsw('vsw-c', 'z', 4), vsw('vsw-c', 'z', 4)],
      order: undefined,
      expected: [{ zone: 'z', vSwitchIds: ['vsw-a', 'vsw-b', 'vsw-c'], freeIps: 4 }],
    },
  ])('$name', ({ input, order, expected }) => {
    expect(zonesOfVSwitches(input, order)).toEqual(expected);
  });
});

describe('missingVSwitchIds', () => {
  it.each([
    [['vsw-a', 'vsw-b'], [vsw('vsw-a', 'z', 1), vsw('vsw-b', 'z', 1)], []],
    [['vsw-a', 'vsw-x', 'vsw-y'], [vsw('vsw-a', 'z', 1)], ['vsw-x', 'vsw-y']],
    [['vsw-a'], [], ['vsw-a']],
  ])('%j found %# -> %j', (requested, found, expected) => {
    expect(missingVSwitchIds(requested, found)).toEqual(expected);
  });
});

describe('freeIpsByZone', () => {
  it('sums per zone', () => {
    expect(freeIpsByZone([vsw('vsw-a', 'a', 1), vsw('vsw-b', 'b', 2), vsw('vsw-c', 'a', 3)])).toEqual(
      new Map([
        ['a', 4],
        ['b', 2],
      ]),
    );
  });
});

describe('missingVSwitchNotice', () => {
  it('warns once when configured vSwitches go missing, not at every refresh', () => {
    // Three refreshes 30 s apart with the same vSwitch missing: one warning, then silence.
    expect(missingVSwitchNotice([], ['vsw-b'])).toEqual({ say: 'gone', vSwitchIds: ['vsw-b'] });
    expect(missingVSwitchNotice(['vsw-b'], ['vsw-b'])).toBeUndefined();
  });

  it('warns again when the missing set changes, in any order', () => {
    expect(missingVSwitchNotice(['vsw-b'], ['vsw-c', 'vsw-b'])).toEqual({ say: 'gone', vSwitchIds: ['vsw-c', 'vsw-b'] });
    expect(missingVSwitchNotice(['vsw-b', 'vsw-c'], ['vsw-c', 'vsw-b'])).toBeUndefined();
  });

  it('says which vSwitches came back once none is missing', () => {
    expect(missingVSwitchNotice(['vsw-b', 'vsw-c'], [])).toEqual({ say: 'back', vSwitchIds: ['vsw-b', 'vsw-c'] });
    expect(missingVSwitchNotice([], [])).toBeUndefined();
  });
});
