// Private IPv4 addresses out of real vSwitch CIDR blocks. As Alibaba Cloud VPC documents
// (CreateVSwitch): "the first IP address and the last three IP addresses of each vSwitch CIDR
// block are reserved by the system" (192.168.1.0/24 -> .0, .253, .254, .255), so a /29 has 4
// usable addresses and a /24 has 252. Allocation is next-fit over a bitmap: O(1) amortised, and
// `available` is the live AvailableIpAddressCount.

export interface Cidr {
  base: number;
  prefix: number;
  size: number;
}

/** Parses `a.b.c.d/n`; returns an error sentence instead of throwing, for field-level reports. */
export function parseCidr(text: string): Cidr | string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (m === null) return `"${text}" is not a CIDR`;
  const octets = [m[1], m[2], m[3], m[4]].map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return `"${text}" is not a CIDR`;
  const base = ((octets[0]! << 24) >>> 0) + (octets[1]! << 16) + (octets[2]! << 8) + octets[3]!;
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) return `"${text}" has host bits set (did you mean ${formatIp(base - (base % size))}/${prefix}?)`;
  return { base, prefix, size };
}

export function formatIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function parseIp(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return undefined;
  const o = [m[1], m[2], m[3], m[4]].map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size;
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/** System-reserved addresses per vSwitch: the first one and the last three. */
export const RESERVED_HEAD = 1;
export const RESERVED_TAIL = 3;

export function usableCount(cidr: Cidr): number {
  return Math.max(0, cidr.size - RESERVED_HEAD - RESERVED_TAIL);
}

export class VSwitchPool {
  readonly cidr: Cidr;
  private readonly used: Uint8Array;
  private cursor = RESERVED_HEAD;
  private free: number;

  constructor(cidr: Cidr) {
    this.cidr = cidr;
    this.used = new Uint8Array(cidr.size);
    this.free = usableCount(cidr);
  }

  get available(): number {
    return this.free;
  }

  get total(): number {
    return usableCount(this.cidr);
  }

  /** Takes the next free address, or undefined when the vSwitch is exhausted. */
  allocate(): string | undefined {
    if (this.free === 0) return undefined;
    const first = RESERVED_HEAD;
    const end = this.cidr.size - RESERVED_TAIL;
    for (let scanned = 0; scanned < end - first; scanned++) {
      const offset = this.cursor;
      this.cursor = this.cursor + 1 >= end ? first : this.cursor + 1;
      if (this.used[offset] === 0) {
        this.used[offset] = 1;
        this.free--;
        return formatIp(this.cidr.base + offset);
      }
    }
    return undefined;
  }

  /** Marks an address as used (restoring state); false if it is outside, reserved or taken. */
  claim(ip: string): boolean {
    const offset = this.offsetOf(ip);
    if (offset === undefined || this.used[offset] === 1) return false;
    this.used[offset] = 1;
    this.free--;
    return true;
  }

  release(ip: string): void {
    const offset = this.offsetOf(ip);
    if (offset === undefined || this.used[offset] === 0) return;
    this.used[offset] = 0;
    this.free++;
  }

  private offsetOf(ip: string): number | undefined {
    const n = parseIp(ip);
    if (n === undefined) return undefined;
    const offset = n - this.cidr.base;
    if (offset < RESERVED_HEAD || offset >= this.cidr.size - RESERVED_TAIL) return undefined;
    return offset;
  }
}
