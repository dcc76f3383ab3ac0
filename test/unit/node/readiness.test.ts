// The Ready condition of a virtual node: a restart that is still syncing never turns a Ready node
// NotReady (kube-controller-manager would mark every pod on it not Ready); a new or NotReady node
// waits for the gate; an unreachable cloud turns any node NotReady.
import { describe, expect, it } from 'vitest';
import { adoptionGate, KEEP_READY_WHILE_SYNCING_MS, readyCondition, type NodeReadinessInput } from '../../../provider/node/readiness.ts';

const WHY = 'eci-virtual-node has not synced its pods yet';
const SYNCING = { why: WHY, forMs: 10_000 };
const base: NodeReadinessInput = { zone: 'cn-hangzhou-h', cloudReachable: true };

const rows: { name: string; over: Partial<NodeReadinessInput>; expected: string[] }[] = [
  { name: 'gate open, new node', over: {}, expected: ['True', 'KubeletReady'] },
  { name: 'gate open, node was NotReady', over: { previous: { status: 'False' } }, expected: ['True', 'KubeletReady'] },
  { name: 'syncing, node Ready before the restart: stays Ready', over: { syncing: SYNCING, previous: { status: 'True' } }, expected: ['True', 'KubeletReady'] },
  { name: 'syncing, brand-new node (no status yet)', over: { syncing: SYNCING }, expected: ['False', 'KubeletNotReady'] },
  { name: 'syncing, node without a Ready condition', over: { syncing: SYNCING, previous: {} }, expected: ['False', 'KubeletNotReady'] },
  { name: 'syncing, node was NotReady', over: { syncing: SYNCING, previous: { status: 'False' } }, expected: ['False', 'KubeletNotReady'] },
  { name: 'syncing, node Unknown (its lease expired)', over: { syncing: SYNCING, previous: { status: 'Unknown' } }, expected: ['False', 'KubeletNotReady'] },
  { name: 'syncing for longer than the bound, node Ready: stuck, says so', over: { syncing: { why: WHY, forMs: 300_001 }, previous: { status: 'True' } }, expected: ['False', 'KubeletNotReady'] },
  { name: 'syncing just within the bound, node Ready', over: { syncing: { why: WHY, forMs: 300_000 }, previous: { status: 'True' } }, expected: ['True', 'KubeletReady'] },
  { name: 'a shorter bound given', over: { syncing: { why: WHY, forMs: 20_000 }, keepReadyWhileSyncingMs: 15_000, previous: { status: 'True' } }, expected: ['False', 'KubeletNotReady'] },
  { name: 'cloud unreachable, gate open', over: { cloudReachable: false, lastError: 'x' }, expected: ['False', 'CloudUnreachable'] },
  { name: 'cloud unreachable while syncing a Ready node', over: { cloudReachable: false, lastError: 'x', syncing: SYNCING, previous: { status: 'True' } }, expected: ['False', 'CloudUnreachable'] },
  { name: 'cloud unreachable while syncing a new node', over: { cloudReachable: false, lastError: 'x', syncing: SYNCING }, expected: ['False', 'CloudUnreachable'] },
];

describe('readyCondition', () => {
  it.each(rows)('$name -> $expected', ({ over, expected }) => {
    const ready = readyCondition({ ...base, ...over });
    expect([ready.type, ready.status, ready.reason]).toEqual(['Ready', ...expected]);
  });

  it('says why a new node is not Ready yet, and why a Ready one is kept', () => {
    expect(readyCondition({ ...base, syncing: SYNCING }).message).toBe(WHY);
    const kept = readyCondition({ ...base, syncing: SYNCING, previous: { status: 'True' } }).message;
    expect(kept).toContain('eci-virtual-node is posting ready status for zone cn-hangzhou-h');
    expect(kept).toContain(`kept Ready while it syncs after a restart: ${WHY}`);
    expect(readyCondition(base).message).toBe('eci-virtual-node is posting ready status for zone cn-hangzhou-h');
  });

  it('names the cloud error', () => {
    expect(readyCondition({ ...base, cloudReachable: false, lastError: 'DescribeVSwitches: connect ECONNREFUSED' }).message).toBe(
      'the cloud API cannot be reached: DescribeVSwitches: connect ECONNREFUSED',
    );
  });

  it('a kept node stays kept on its next heartbeat (its own last post is the previous status)', () => {
    const first = readyCondition({ ...base, syncing: SYNCING, previous: { status: 'True' } });
    expect(readyCondition({ ...base, syncing: SYNCING, previous: first }).status).toBe('True');
    // ...but once the cloud took it down, it waits for the gate like any NotReady node.
    const down = readyCondition({ ...base, cloudReachable: false, syncing: SYNCING, previous: first });
    expect(readyCondition({ ...base, syncing: SYNCING, previous: down }).status).toBe('False');
  });
});

describe('adoptionGate: the pod caches synced, the start-up list of every group goes on', () => {
  it('stays open while the list makes progress within the keep-Ready bound, and once the list is done', () => {
    expect(adoptionGate({ adopted: false, sinceProgressMs: KEEP_READY_WHILE_SYNCING_MS, podsHeld: 3, lastListError: 'Forbidden.RAM' })).toBe(true);
    expect(adoptionGate({ adopted: true, sinceProgressMs: 3_600_000, podsHeld: 0 })).toBe(true);
  });

  it('stays open for a list that has run for minutes but received a page a second ago (500 pages at 10,000 groups)', () => {
    // The nodes are Ready; flipping them in the middle of a long, healthy list would taint them.
    expect(adoptionGate({ adopted: false, sinceProgressMs: 1_000, podsHeld: 12 })).toBe(true);
  });

  it('closes once no page came for longer than the bound, naming the last list error and the pods held, and the Ready node turns NotReady', () => {
    const gate = adoptionGate({ adopted: false, sinceProgressMs: KEEP_READY_WHILE_SYNCING_MS + 1_000, podsHeld: 7, lastListError: 'Forbidden.RAM: eci:DescribeContainerGroups' });
    expect(gate).toMatch(/listed no container groups for 301 s \(last error: Forbidden\.RAM: eci:DescribeContainerGroups\); 7 pods bound meanwhile wait/);
    // The node has run as long as the adoption (at least): the condition does not keep it Ready.
    const ready = readyCondition({ ...base, syncing: { why: gate as string, forMs: KEEP_READY_WHILE_SYNCING_MS + 1_000 }, previous: { status: 'True' } });
    expect([ready.status, ready.reason, ready.message]).toEqual(['False', 'KubeletNotReady', gate]);
  });

  it('says it is still listing when no attempt failed (a list stalled without an error)', () => {
    expect(adoptionGate({ adopted: false, sinceProgressMs: 20_000, podsHeld: 0, limitMs: 10_000 })).toMatch(/for 20 s \(still listing\)/);
  });
});
