// Recording: the tapes of the active transforms.
//
// Each `grad`/`vjp` call opens a tape and pushes it on a stack. While a tape
// is on the stack, an op whose inputs are recorded on it appends one node
// (its inputs' positions on the tape and a backward closure) and links its
// output to the tape. A tensor can be on several tapes at once, one per
// nested transform: that is what keeps nested gradients apart (Autodidax's
// trace levels). An inner gradient that closes over an outer variable sees
// it as a constant on its own tape, while the outer tape still records every
// op, the inner backward pass included; that rules out perturbation
// confusion. With no tape on the stack, ops record nothing.

import { Tensor } from './tensor.ts';

/** One link of a tensor's list of tapes: its node id on `tape`. */
export interface TraceRef {
  readonly tape: Tape;
  readonly id: number;
  readonly next: TraceRef | null;
}

/**
 * Given the cotangent of an op's output and which inputs need one, returns
 * the cotangent of each input (null where not needed or not differentiable).
 */
export type Backward = (g: Tensor, needs: readonly boolean[]) => (Tensor | null)[];

export interface TapeNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** For each input, its node id on this tape, or −1 when it is a constant here. */
  readonly ids: readonly number[];
  /** null for an input (leaf) of the transform. */
  readonly backward: Backward | null;
}

export class Tape {
  nodes: TapeNode[] = [];
}

const stack: Tape[] = [];

/** True when some transform is recording. Ops skip all bookkeeping otherwise. */
export function isRecording(): boolean {
  return stack.length > 0;
}

export function openTape(): Tape {
  const tape = new Tape();
  stack.push(tape);
  return tape;
}

/** Takes `tape` off the stack; it must be the innermost one. */
export function closeTape(tape: Tape): void {
  const top = stack.pop();
  if (top !== tape) {
    // Only reachable through a bug in a transform; restore what we can.
    if (top !== undefined) stack.push(top);
    const i = stack.indexOf(tape);
    if (i >= 0) stack.splice(i, 1);
    throw new Error('internal: transforms were closed out of order');
  }
}

/** The node id of `x` on `tape`, or −1. */
export function idOn(x: Tensor, tape: Tape): number {
  for (let r = x._trace; r !== null; r = r.next) if (r.tape === tape) return r.id;
  return -1;
}

// An input node has no inputs: every one shares these (nothing writes to a node's arrays).
const NO_INPUTS: readonly Tensor[] = [];
const NO_IDS: readonly number[] = [];

/** A copy of `x` (sharing its buffer) that is an input of `tape`. */
export function watch(x: Tensor, tape: Tape): Tensor {
  tape.nodes.push({ name: 'input', inputs: NO_INPUTS, ids: NO_IDS, backward: null });
  return new Tensor(x.data, x.shape, { tape, id: tape.nodes.length - 1, next: x._trace });
}

/**
 * Records `out = op(inputs)` on every active tape that one of the inputs is
 * on, and returns `out`. Ops call this only when `isRecording()`.
 */
export function record(name: string, inputs: readonly Tensor[], out: Tensor, backward: Backward): Tensor {
  let trace: TraceRef | null = null;
  for (let t = 0; t < stack.length; t++) {
    const tape = stack[t];
    let ids: number[] | null = null;
    for (let i = 0; i < inputs.length; i++) {
      const id = idOn(inputs[i], tape);
      if (id < 0) continue;
      if (ids === null) ids = inputs.length === 2 ? [-1, -1] : inputs.length === 1 ? [-1] : new Array<number>(inputs.length).fill(-1);
      ids[i] = id;
    }
    if (ids === null) continue;
    tape.nodes.push({ name, inputs, ids, backward });
    trace = { tape, id: tape.nodes.length - 1, next: trace };
  }
  out._trace = trace;
  return out;
}

/**
 * Records an op that has no derivative (argmax, comparisons, floor, sign):
 * a gradient that reaches it throws instead of passing a silent zero.
 */
export function recordNondifferentiable(name: string, inputs: readonly Tensor[], out: Tensor): Tensor {
  return record(name, inputs, out, () => {
    throw new TypeError(
      `${name} is not differentiable, but a gradient reached it; ` +
        `wrap its input or its result in stopGradient() if a constant is meant`,
    );
  });
}

/** The same values, cut from every tape: its gradient is zero by definition. */
export function stopGradient<T extends Tensor>(x: T): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`stopGradient: expected a Tensor, got ${describe(x)}`);
  return x._trace === null ? x : new Tensor(x.data, x.shape);
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (x instanceof Tensor) return 'a Tensor';
  return typeof x;
}
