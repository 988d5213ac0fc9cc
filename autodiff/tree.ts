// Trees of tensors: a Tensor, or plain arrays and objects of trees (an MLP's
// parameters, an estimator's state). Transforms take trees in and give
// gradients back in the same shape of tree.

import { Tensor } from './tensor.ts';
import { describe } from './tape.ts';

export type Tree = Tensor | readonly Tree[] | { readonly [key: string]: Tree };

/**
 * Applies `fn` to every tensor of a tree, keeping the tree's structure. `fn`
 * gets each tensor's path in the tree (`w[0].bias`, after `path`) when it
 * declares a second parameter without a default (fn.length ≥ 2); otherwise
 * its second argument is undefined.
 */
export function mapTree<T>(tree: T, fn: (x: Tensor, path: string) => Tensor, op = 'mapTree', path = ''): T {
  // The transforms walk a tree or two per call: paths, strings built per node,
  // are made only for a fn that reads them (or for an error message).
  if (fn.length < 2) return mapLeaves(tree, fn as (x: Tensor) => Tensor, op, tree, path) as T;
  if (tree instanceof Tensor) return fn(tree, path) as T;
  if (Array.isArray(tree)) return tree.map((t, i) => mapTree(t, fn, op, `${path}[${i}]`)) as T;
  if (isPlainObject(tree)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(tree)) out[k] = mapTree(tree[k], fn, op, path === '' ? k : `${path}.${k}`);
    return out as T;
  }
  throw notATree(op, tree, path);
}

/** mapTree without paths; `root` and `rootPath` are for the error message. */
function mapLeaves(tree: unknown, fn: (x: Tensor) => Tensor, op: string, root: unknown, rootPath: string): unknown {
  if (tree instanceof Tensor) return fn(tree);
  if (Array.isArray(tree)) {
    const out = new Array<unknown>(tree.length);
    for (let i = 0; i < tree.length; i++) if (i in tree) out[i] = mapLeaves(tree[i], fn, op, root, rootPath); // holes stay holes, as map keeps them
    return out;
  }
  if (isPlainObject(tree)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(tree)) out[k] = mapLeaves(tree[k], fn, op, root, rootPath);
    return out;
  }
  throw notATree(op, tree, pathTo(root, tree, rootPath) ?? rootPath);
}

/** The tensors of a tree, in a fixed order (depth first, keys in insertion order). */
export function leaves(tree: unknown, op = 'leaves'): Tensor[] {
  const out: Tensor[] = [];
  collectLeaves(tree, out, op, tree);
  return out;
}

function collectLeaves(tree: unknown, out: Tensor[], op: string, root: unknown): void {
  if (tree instanceof Tensor) out.push(tree);
  else if (Array.isArray(tree)) {
    for (let i = 0; i < tree.length; i++) if (i in tree) collectLeaves(tree[i], out, op, root); // skips holes, as map does
  }
  else if (isPlainObject(tree)) for (const k of Object.keys(tree)) collectLeaves(tree[k], out, op, root);
  else throw notATree(op, tree, pathTo(root, tree, '') ?? '');
}

/** The path of the first node that is `target` (depth first, as the walks go), or null. */
function pathTo(tree: unknown, target: unknown, path: string): string | null {
  if (Object.is(tree, target)) return path;
  if (Array.isArray(tree)) {
    for (let i = 0; i < tree.length; i++) {
      if (!(i in tree)) continue; // a hole: the walks skip it
      const found = pathTo(tree[i], target, `${path}[${i}]`);
      if (found !== null) return found;
    }
  } else if (isPlainObject(tree)) {
    for (const k of Object.keys(tree)) {
      const found = pathTo(tree[k], target, path === '' ? k : `${path}.${k}`);
      if (found !== null) return found;
    }
  }
  return null;
}

function notATree(op: string, node: unknown, path: string): TypeError {
  return new TypeError(`${op}: expected a Tensor or a tree (arrays and plain objects) of Tensors, got ${describe(node)}${path ? ` at ${path}` : ''}`);
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
