// Trees of tensors: a Tensor, or plain arrays and objects of trees (an MLP's
// parameters, an estimator's state). Transforms take trees in and give
// gradients back in the same shape of tree.

import { Tensor } from './tensor.ts';
import { describe } from './tape.ts';

export type Tree = Tensor | readonly Tree[] | { readonly [key: string]: Tree };

/** Applies `fn` to every tensor of a tree, keeping the tree's structure. */
export function mapTree<T>(tree: T, fn: (x: Tensor, path: string) => Tensor, op = 'mapTree', path = ''): T {
  if (tree instanceof Tensor) return fn(tree, path) as T;
  if (Array.isArray(tree)) return tree.map((t, i) => mapTree(t, fn, op, `${path}[${i}]`)) as T;
  if (isPlainObject(tree)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(tree)) out[k] = mapTree(v, fn, op, path === '' ? k : `${path}.${k}`);
    return out as T;
  }
  throw new TypeError(`${op}: expected a Tensor or a tree (arrays and plain objects) of Tensors, got ${describe(tree)}${path ? ` at ${path}` : ''}`);
}

/** The tensors of a tree, in a fixed order (depth first, keys in insertion order). */
export function leaves(tree: unknown, op = 'leaves'): Tensor[] {
  const out: Tensor[] = [];
  mapTree(tree, (x) => {
    out.push(x);
    return x;
  }, op);
  return out;
}

/** Combines two trees of the same structure leaf by leaf. */
export function zipTrees<T>(a: T, b: T, fn: (x: Tensor, y: Tensor) => Tensor, op = 'zipTrees'): T {
  const ys = leaves(b, op);
  let i = 0;
  const out = mapTree(a, (x, path) => {
    if (i >= ys.length) throw new TypeError(`${op}: the two trees differ in structure at ${path || 'the root'}`);
    return fn(x, ys[i++]);
  }, op);
  if (i !== ys.length) throw new TypeError(`${op}: the two trees differ in structure (${i} and ${ys.length} tensors)`);
  return out;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}
