// The functional transforms, as in JAX: grad, valueAndGrad, vjp.
//
// Each call opens a tape (tape.ts), runs f on copies of its inputs that are
// recorded there, closes the tape, and walks it backwards. The backward pass
// is a loop over the tape from the end (no recursion, so a 100 000-op chain
// cannot overflow the stack), and each node's VJP runs the public ops: while
// an outer transform is recording, the backward pass is recorded too, which
// is what makes grad(grad(f)) work.

import { Tensor, alloc, formatShape, shapesEqual, withRecycling } from './tensor.ts';
import { openTape, closeTape, watch, idOn, describe, isRecording, type Tape } from './tape.ts';
import { mapTree, leaves } from './tree.ts';
import { add } from './ops/binary.ts';

/** Walks the tape backwards from `outputs` with their cotangents; returns every leaf's cotangent by node id. */
function backpropagate(tape: Tape, outputs: readonly Tensor[], cotangents: readonly Tensor[]): (Tensor | undefined)[] {
  const nodes = tape.nodes;
  const cts = new Array<Tensor | undefined>(nodes.length);
  let top = -1;
  for (let i = 0; i < outputs.length; i++) {
    const id = idOn(outputs[i], tape);
    if (id < 0) continue;
    const prev = cts[id];
    cts[id] = prev === undefined ? cotangents[i] : add(prev, cotangents[i]);
    if (id > top) top = id;
  }
  for (let i = top; i >= 0; i--) {
    const g = cts[i];
    if (g === undefined) continue;
    const node = nodes[i];
    if (node.backward === null) continue; // an input: its cotangent is the answer
    cts[i] = undefined; // release as we go
    const ids = node.ids;
    const needs = needsOf(ids);
    const grads = node.backward(g, needs);
    for (let j = 0; j < ids.length; j++) {
      const id = ids[j];
      const gj = grads[j];
      if (id < 0 || gj === null || gj === undefined) continue;
      if (!shapesEqual(gj.shape, node.inputs[j].shape)) {
        throw new Error(`internal: the VJP of ${node.name} gave shape ${formatShape(gj.shape)} for an input of shape ${formatShape(node.inputs[j].shape)}`);
      }
      const prev = cts[id];
      cts[id] = prev === undefined ? gj : add(prev, gj);
    }
  }
  return cts;
}

/**
 * Runs a backward pass `pass` and returns its results. When no transform is
 * recording it, the pass's large temporaries are recycled afterwards (see
 * tensor.ts): nothing but the returned trees can refer to them.
 */
function recycled<R>(pass: () => R): R {
  if (isRecording()) return pass(); // an outer tape keeps the pass's tensors
  return withRecycling(pass, (results) => leaves(results, 'grad'));
}

// Which inputs of a node need a cotangent. One or two inputs (nearly every
// node) take a shared constant instead of a new array per node; backward
// functions only read it.
const NEEDS_ONE: readonly (readonly boolean[])[] = [[false], [true]];
const NEEDS_TWO: readonly (readonly boolean[])[] = [[false, false], [true, false], [false, true], [true, true]];

function needsOf(ids: readonly number[]): readonly boolean[] {
  if (ids.length === 1) return NEEDS_ONE[ids[0] >= 0 ? 1 : 0];
  if (ids.length === 2) return NEEDS_TWO[(ids[0] >= 0 ? 1 : 0) + (ids[1] >= 0 ? 2 : 0)];
  return ids.map((id) => id >= 0);
}

function zerosOf(x: Tensor): Tensor {
  return new Tensor(alloc(x.data.length), x.shape);
}

/** The tape id of a watched leaf. */
function leafId(x: Tensor): number {
  return (x._trace as NonNullable<Tensor['_trace']>).id;
}

interface Differentiated {
  value: Tensor;
  grads: unknown[];
}

function differentiate(op: string, f: (...args: never[]) => unknown, args: unknown[], argnums: readonly number[]): Differentiated {
  if (typeof f !== 'function') throw new TypeError(`${op}: expected a function, got ${describe(f)}`);
  for (const i of argnums) {
    if (!Number.isInteger(i) || i < 0 || i >= args.length) {
      throw new RangeError(`${op}: argnums ${i} is out of range for a call with ${args.length} argument(s)`);
    }
  }
  const tape = openTape();
  const watched = [...args];
  let value: unknown;
  try {
    for (const i of argnums) watched[i] = mapTree(args[i], (x) => watch(x, tape), op, `argument ${i}`);
    value = (f as (...a: unknown[]) => unknown)(...watched);
  } finally {
    closeTape(tape);
  }
  if (!(value instanceof Tensor)) {
    throw new TypeError(`${op}: f must return a scalar Tensor, got ${describe(value)}`);
  }
  if (value.rank !== 0) {
    throw new RangeError(`${op}: f must return a scalar, got shape ${formatShape(value.shape)}; reduce it with sum() or use vjp`);
  }
  const one = alloc(1); // a view (slab or arena): new Float64Array([1]) costs about three times as much
  one[0] = 1;
  const seed = new Tensor(one, []);
  const grads = recycled(() => {
    const cts = backpropagate(tape, [value], [seed]);
    return argnums.map((i) => mapTree(watched[i], (x) => cts[leafId(x)] ?? zerosOf(x), op));
  });
  tape.nodes = []; // nothing can use this tape again
  return { value, grads };
}

export interface GradOptions {
  /** Which argument(s) to differentiate with respect to. Default 0. */
  argnums?: number | readonly number[];
}

type Fn = (...args: any[]) => Tensor;

/**
 * The gradient of a scalar function: `grad(f)(x)` has the shape (or tree
 * structure) of x. With `argnums: [0, 2]` it returns one gradient per listed
 * argument. Arguments may be trees of tensors.
 */
export function grad<F extends Fn>(f: F): (...args: Parameters<F>) => Parameters<F>[0];
export function grad<F extends Fn>(f: F, options: { argnums: number }): (...args: Parameters<F>) => any;
export function grad<F extends Fn>(f: F, options: { argnums: readonly number[] }): (...args: Parameters<F>) => any[];
export function grad<F extends Fn>(f: F, options: GradOptions = {}): (...args: Parameters<F>) => any {
  const g = valueAndGrad(f, options as { argnums: number });
  return (...args: Parameters<F>) => g(...args).grad;
}

/** Like grad, but also returns f's value from the same forward pass: `{ value, grad }`. */
export function valueAndGrad<F extends Fn>(f: F): (...args: Parameters<F>) => { value: Tensor; grad: Parameters<F>[0] };
export function valueAndGrad<F extends Fn>(f: F, options: { argnums: number }): (...args: Parameters<F>) => { value: Tensor; grad: any };
export function valueAndGrad<F extends Fn>(f: F, options: { argnums: readonly number[] }): (...args: Parameters<F>) => { value: Tensor; grad: any[] };
export function valueAndGrad<F extends Fn>(f: F, options: GradOptions = {}): (...args: Parameters<F>) => { value: Tensor; grad: any } {
  const argnums = options.argnums ?? 0;
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  const op = 'grad';
  return (...args: Parameters<F>) => {
    const { value, grads } = differentiate(op, f, args, list);
    return { value, grad: typeof argnums === 'number' ? grads[0] : grads };
  };
}

/**
 * Reverse mode with an explicit cotangent: `vjp(f, ...primals)` runs f once
 * and returns its output and a function taking a cotangent of the output's
 * shape (a tree, if f returns one) to one cotangent per primal. Trees may be
 * typed with interfaces: anything whose leaves are Tensors is accepted.
 */
export function vjp<P extends unknown[], O>(f: (...primals: P) => O, ...primals: P): { out: O; vjp: (cotangent: O) => P } {
  if (typeof f !== 'function') throw new TypeError(`vjp: expected a function, got ${describe(f)}`);
  const tape = openTape();
  let out: O;
  let watched: unknown[];
  try {
    watched = primals.map((p, i) => mapTree(p, (x) => watch(x, tape), 'vjp', `primal ${i}`));
    out = f(...(watched as P));
  } finally {
    closeTape(tape);
  }
  const outs = leaves(out, 'vjp');
  return {
    out,
    vjp: (cotangent: O): P => {
      const cs = leaves(cotangent, 'vjp');
      if (cs.length !== outs.length) throw new TypeError(`vjp: the cotangent has ${cs.length} tensors, the output ${outs.length}`);
      cs.forEach((c, i) => {
        if (!shapesEqual(c.shape, outs[i].shape)) {
          throw new RangeError(`vjp: cotangent shape ${formatShape(c.shape)} does not match output shape ${formatShape(outs[i].shape)}`);
        }
      });
      return recycled(() => {
        const cts = backpropagate(tape, outs, cs);
        return watched.map((w) => mapTree(w, (x) => cts[leafId(x)] ?? zerosOf(x), 'vjp')) as P;
      });
    },
  };
}
