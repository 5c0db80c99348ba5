// Choosing targets within a region (`select:`, docs/dns-behaviour.md#step-4-select-targets): round-robin,
// weighted, random, sticky (rendezvous hash of the client /24 or /56), fastest. Pure functions; rotation
// counters, the random source and measured response times come in as arguments.
import type { SelectMode } from '../config/zone-file.js';
import type { Target } from './pool.js';

export interface SelectInput {
  mode: SelectMode;
  /** Healthy candidates in written order. */
  targets: Target[];
  /** Round-robin position for this pool region and family. */
  position: number;
  random: () => number;
  /** Client block bytes (/24 or /56 of the located address), for sticky. */
  clientBlock: Uint8Array;
  rttMs: (t: Target) => number | null;
}

export function rotate<T>(items: T[], by: number): T[] {
  if (items.length < 2) return items.slice();
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Draws without replacement, each draw with probability proportional to weight. */
export function weightedOrder(targets: Target[], random: () => number): Target[] {
  const left = targets.slice();
  const out: Target[] = [];
  // standbys only (every weight 0): draw them evenly
  const weight = targets.some((t) => t.weight > 0) ? (t: Target) => t.weight : () => 1;
  while (left.length) {
    const total = left.reduce((s, t) => s + weight(t), 0);
    let r = random() * total;
    let i = 0;
    while (i < left.length - 1 && r >= weight(left[i]!)) r -= weight(left[i++]!);
    out.push(left.splice(i, 1)[0]!);
  }
  return out;
}

export function shuffled(targets: Target[], random: () => number): Target[] {
  const a = targets.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** 32-bit FNV-1a over the client block and the target address, finished with a murmur3 mix. */
function score(block: Uint8Array, target: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of block) h = Math.imul(h ^ b, 0x01000193);
  h = Math.imul(h ^ 0xff, 0x01000193);
  for (const b of target) h = Math.imul(h ^ b, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Rendezvous (highest random weight) order: stable per client block, spread evenly across blocks. */
export function stickyOrder(targets: Target[], clientBlock: Uint8Array): Target[] {
  return targets
    .map((t) => ({ t, s: score(clientBlock, t.rdata) }))
    .sort((a, b) => b.s - a.s || (a.t.address < b.t.address ? -1 : 1))
    .map((x) => x.t);
}

/** Least response time first; targets not measured yet follow in round-robin order. */
export function fastestOrder(targets: Target[], position: number, rttMs: (t: Target) => number | null): Target[] {
  const measured = targets.filter((t) => rttMs(t) !== null).sort((a, b) => rttMs(a)! - rttMs(b)!);
  const rest = rotate(
    targets.filter((t) => rttMs(t) === null),
    position,
  );
  return [...measured, ...rest];
}

export function selectTargets(s: SelectInput): Target[] {
  switch (s.mode) {
    case 'weighted':
      return weightedOrder(s.targets, s.random);
    case 'random':
      return shuffled(s.targets, s.random);
    case 'sticky':
      return stickyOrder(s.targets, s.clientBlock);
    case 'fastest':
      return fastestOrder(s.targets, s.position, s.rttMs);
    default:
      return rotate(s.targets, s.position);
  }
}
