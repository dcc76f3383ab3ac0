// Kubernetes resource quantities ("500m", "1.5", "512Mi", "1G", "1e3") as plain numbers.

const SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

/** The quantity in base units (cores for cpu, bytes for memory); undefined when malformed. */
export function parseQuantity(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const m = QUANTITY.exec(value.trim());
  if (m === null) return undefined;
  const [, num = '', exponent, suffix = ''] = m;
  const base = Number(num);
  if (exponent !== undefined) return base * 10 ** Number(exponent.slice(1));
  const factor = SUFFIX[suffix];
  return factor === undefined ? undefined : base * factor;
}

export const GiB = 2 ** 30;

/** Rounds to 3 decimals (ECI takes vCPU and GiB as decimals; 0.1 vCPU = 100m). */
export const round3 = (n: number): number => Math.round(n * 1000) / 1000;
