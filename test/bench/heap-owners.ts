// Who retains what in a V8 heap snapshot: the dominator tree's retained size of each instance of
// the named classes and of its largest properties, per pod. With the snapshot the bench writes
// (BENCH_HEAP_SNAPSHOT_DIR) once every pod is Running:
//   node test/bench/heap-owners.ts FILE.heapsnapshot PODS GroupIndex PodMemories ListWatch PodController
// Retained = what would be freed if the owner went (docs/benchmark.md, "Retained memory, fourth session").
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[], ...unknown[]]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const [file, podsArg, ...classes] = process.argv.slice(2);
if (file === undefined || podsArg === undefined) throw new Error('usage: node test/bench/heap-owners.ts FILE.heapsnapshot PODS Class...');
const pods = Number(podsArg);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const { nodes, edges, strings } = snap;
const nf = snap.snapshot.meta.node_fields;
const ef = snap.snapshot.meta.edge_fields;
const ns = nf.length;
const es = ef.length;
const [T, N, E, S] = ['type', 'name', 'edge_count', 'self_size'].map((f) => nf.indexOf(f)) as [number, number, number, number];
const [ET, EN, EO] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f)) as [number, number, number];
const nodeTypes = snap.snapshot.meta.node_types[0];
const edgeTypes = snap.snapshot.meta.edge_types[0];
const weak = edgeTypes.indexOf('weak');
const shortcut = edgeTypes.indexOf('shortcut');
const count = nodes.length / ns;
const at = (a: number[] | Uint32Array | Int32Array | Float64Array, i: number): number => a[i]!;
const nameOf = (i: number): string => {
  const type = nodeTypes[at(nodes, i * ns + T)]!;
  return type === 'object' || type === 'closure' || type === 'native' ? `${type}:${strings[at(nodes, i * ns + N)]!}` : type;
};
const strong = (e: number): boolean => at(edges, e + ET) !== weak && at(edges, e + ET) !== shortcut;
const first = new Uint32Array(count + 1);
for (let i = 0, e = 0; i < count; i++) {
  first[i] = e;
  e += at(nodes, i * ns + E) * es;
  first[i + 1] = e;
}
// Predecessors, then a post-order from the root, then dominators (Cooper, Harvey and Kennedy).
const predStart = new Uint32Array(count + 1);
for (let e = 0; e < edges.length; e += es) if (strong(e)) predStart[at(edges, e + EO) / ns + 1]!++;
for (let i = 0; i < count; i++) predStart[i + 1]! += at(predStart, i);
const preds = new Uint32Array(at(predStart, count));
const fill = predStart.slice();
for (let i = 0; i < count; i++) for (let e = at(first, i); e < at(first, i + 1); e += es) if (strong(e)) preds[fill[at(edges, e + EO) / ns]!++] = i;
const post = new Int32Array(count).fill(-1);
const order: number[] = [];
{
  const next = new Uint32Array(count);
  const seen = new Uint8Array(count);
  const stack = [0];
  seen[0] = 1;
  next[0] = at(first, 0);
  while (stack.length > 0) {
    const n = stack[stack.length - 1]!;
    let pushed = false;
    while (at(next, n) < at(first, n + 1)) {
      const e = at(next, n);
      next[n] = e + es;
      const to = at(edges, e + EO) / ns;
      if (!strong(e) || seen[to] === 1) continue;
      seen[to] = 1;
      next[to] = at(first, to);
      stack.push(to);
      pushed = true;
      break;
    }
    if (!pushed) {
      stack.pop();
      post[n] = order.length;
      order.push(n);
    }
  }
}
const idom = new Int32Array(count).fill(-1);
idom[0] = 0;
const intersect = (a: number, b: number): number => {
  while (a !== b) {
    while (at(post, a) < at(post, b)) a = at(idom, a);
    while (at(post, b) < at(post, a)) b = at(idom, b);
  }
  return a;
};
for (let changed = true; changed; ) {
  changed = false;
  for (let k = order.length - 2; k >= 0; k--) {
    const n = order[k]!;
    let d = -1;
    for (let p = at(predStart, n); p < at(predStart, n + 1); p++) {
      const q = at(preds, p);
      if (at(idom, q) === -1) continue;
      d = d === -1 ? q : intersect(q, d);
    }
    if (d !== -1 && at(idom, n) !== d) {
      idom[n] = d;
      changed = true;
    }
  }
}
const retained = new Float64Array(count);
for (const n of order) retained[n]! += at(nodes, n * ns + S);
for (const n of order) if (n !== 0) retained[at(idom, n)]! += at(retained, n);

const size = (bytes: number): string => `${(bytes / 1024).toFixed(0).padStart(8)} KiB ${(bytes / pods).toFixed(0).padStart(6)} B/pod`;
console.log(`heap reachable ${(at(retained, 0) / 2 ** 20).toFixed(1)} MiB`);
for (let i = 0; i < count; i++) {
  if (at(post, i) === -1 || !classes.includes(nameOf(i).replace(/^object:/, ''))) continue;
  console.log(`${size(at(retained, i))}  ${nameOf(i)}`);
  const props: [string, number][] = [];
  for (let e = at(first, i); e < at(first, i + 1); e += es) {
    const to = at(edges, e + EO) / ns;
    if (at(idom, to) !== i || edgeTypes[at(edges, e + ET)] !== 'property') continue;
    props.push([`.${strings[at(edges, e + EN)]!} (${nameOf(to)})`, at(retained, to)]);
  }
  for (const [name, bytes] of props.sort((a, b) => b[1] - a[1]).slice(0, 8)) if (bytes > 10_240) console.log(`    ${size(bytes)}  ${name}`);
}
