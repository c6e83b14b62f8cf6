/**
 * The people marked by eye in ten frames of street-people.avi (street-people.json beside this file:
 * its `rule` says who counts), and the box overlap the benches and tests match them with.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../../src/repo-root.ts';

/** A box by its corners: x1, y1, x2, y2 in the frame's pixels. */
export type Box = [number, number, number, number];

/** The marked frames of street-people.avi. */
export interface StreetTruth {
  size: [number, number];
  whoIs: Record<string, string>;
  /** By frame index: the counted people, their letters (the same person in every frame), the people left uncounted. */
  frames: Record<string, { people: Box[]; who: string[]; others: Box[] }>;
}

/** The marked frames, read from street-people.json. */
export function streetTruth(): StreetTruth {
  return JSON.parse(readFileSync(join(repoPath('bench', 'truth'), 'street-people.json'), 'utf8')) as StreetTruth;
}

/** The area two corner boxes share. */
export function overlap(a: readonly number[], b: readonly number[]): number {
  return Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!)) * Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
}

/** A corner box's area. */
export function area(b: readonly number[]): number {
  return (b[2]! - b[0]!) * (b[3]! - b[1]!);
}

/** Intersection over union of two corner boxes. */
export function iou(a: readonly number[], b: readonly number[]): number {
  const inter = overlap(a, b);
  return inter / (area(a) + area(b) - inter);
}

/** A track row's [x, y, w, h] as a corner box. */
export function corners(bbox: readonly number[]): Box {
  return [bbox[0]!, bbox[1]!, bbox[0]! + bbox[2]!, bbox[1]! + bbox[3]!];
}
