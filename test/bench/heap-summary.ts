// Prints what a V8 heap snapshot holds: self size and count by constructor / node name, top 30.
// Usage: node test/bench/heap-summary.ts FILE.heapsnapshot
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const file = process.argv[2];
if (file === undefined) throw new Error('usage: node test/bench/heap-summary.ts FILE.heapsnapshot');
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const stride = fields.length;
const typeAt = fields.indexOf('type');
const nameAt = fields.indexOf('name');
const sizeAt = fields.indexOf('self_size');
const by = new Map<string, { size: number; count: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += stride) {
  const type = types[snap.nodes[i + typeAt]!]!;
  const name = type === 'object' || type === 'closure' || type === 'native' ? `${type}:${snap.strings[snap.nodes[i + nameAt]!]}` : type;
  const size = snap.nodes[i + sizeAt]!;
  total += size;
  const entry = by.get(name) ?? { size: 0, count: 0 };
  entry.size += size;
  entry.count += 1;
  by.set(name, entry);
}
console.log(`total self size ${(total / 1048576).toFixed(1)} MiB`);
for (const [name, { size, count }] of [...by.entries()].sort((a, b) => b[1].size - a[1].size).slice(0, 30)) {
  console.log(`${(size / 1048576).toFixed(1).padStart(8)} MiB ${String(count).padStart(9)}  ${name.slice(0, 100)}`);
}
