// Matrix products, and a few elementwise ops, in WebAssembly SIMD.
//
// JavaScript has no vector instructions, and every typed-array load is checked
// on its own: the 4×4 tile of linalg.ts does at best one multiply-add per
// cycle. WebAssembly's 128-bit SIMD multiplies and adds two doubles per
// instruction, and its loads need no check of their own. This file assembles
// one small WebAssembly module, a 4×4-tiled product, elementwise kernels and
// row kernels (outer products, a bias added to each row, sums over rows),
// from the instructions below at first use (no binary file, no build step,
// nothing fetched). linalg.ts runs through it the products with m and n at
// least 4, k at least 2 and at least 1 024 multiply-adds (n from 1 when A
// lives in the arena below), those of two or three rows against a small B,
// and outer products of 256 values or more. An operand that is not in the
// kernel's memory is copied in, the left as it is and the result out, one
// block copy each; the right operand as it is too when the left has few rows,
// and as panels of four columns otherwise. Inside an estimator's call the
// tensors live in the kernel's memory (the arena, at the end of this file),
// and nothing is copied but the right operand's panels; there the elementwise
// and row kernels run too (binary.ts, unary.ts, linalg.ts, reduce.ts).
//
// Same bits as the JavaScript kernel. Each C(i, j) = Σ_p A(i, p) B(p, j) is
// summed in the same order, from +0 over p = 0, 1, …, k − 1, with one rounding
// per multiply and per add (no fused multiply-add), so the two kernels agree
// bit for bit and nothing else in mcgrad can tell which one ran.
//
// Where WebAssembly or its SIMD is missing (an old runtime, or a page whose
// content security policy forbids compiling it), simdGemm and the others
// return false and the JavaScript loops do the work.

// ---------------------------------------------------------------- assembler
// Just the instructions the kernel uses, each a function from its operands'
// code to its own, so the program below reads like the text format's folded
// expressions: i32.add(local.get(I), i32.const(4)).

type Code = number[];

function uleb(value: number): Code {
  const bytes: Code = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

function sleb(value: number): Code {
  const bytes: Code = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

const seq = (...parts: Code[]): Code => parts.flat();

// Memory accesses carry alignment (log₂ bytes) and a constant offset.
const ALIGN_8 = 3;
const simdOp = (opcode: number, ...immediates: number[]): Code => [0xfd, ...uleb(opcode), ...immediates];

const local = {
  get: (index: number): Code => [0x20, ...uleb(index)],
  set: (index: number, value: Code): Code => [...value, 0x21, ...uleb(index)],
};
const i32 = {
  const: (value: number): Code => [0x41, ...sleb(value)],
  add: (x: Code, y: Code): Code => [...x, ...y, 0x6a],
  sub: (x: Code, y: Code): Code => [...x, ...y, 0x6b],
  mul: (x: Code, y: Code): Code => [...x, ...y, 0x6c],
  eqz: (x: Code): Code => [...x, 0x45],
  eq: (x: Code, y: Code): Code => [...x, ...y, 0x46],
  ltU: (x: Code, y: Code): Code => [...x, ...y, 0x49],
  gtU: (x: Code, y: Code): Code => [...x, ...y, 0x4b],
  geU: (x: Code, y: Code): Code => [...x, ...y, 0x4f],
};
// select(x, y, condition): x if condition ≠ 0, else y.
const select = (x: Code, y: Code, condition: Code): Code => [...x, ...y, ...condition, 0x1b];
const v128 = {
  zero: (): Code => simdOp(0x0c, ...new Array<number>(16).fill(0)),
  load: (address: Code, offset: number): Code => [...address, ...simdOp(0x00, ALIGN_8, ...uleb(offset))],
  load64Splat: (address: Code, offset: number): Code => [...address, ...simdOp(0x0a, ALIGN_8, ...uleb(offset))],
  store: (address: Code, offset: number, value: Code): Code => [...address, ...value, ...simdOp(0x0b, ALIGN_8, ...uleb(offset))],
  store64Lane: (address: Code, offset: number, value: Code, lane: number): Code =>
    [...address, ...value, ...simdOp(0x5b, ALIGN_8, ...uleb(offset), lane)],
};
const f64x2 = {
  add: (x: Code, y: Code): Code => [...x, ...y, ...simdOp(0xf0)],
  mul: (x: Code, y: Code): Code => [...x, ...y, ...simdOp(0xf2)],
};

// The elementwise kernels' arithmetic, once on pairs of doubles and once on
// one (for an odd element at the end), so that each kernel is written once.
interface Lanes {
  load(address: Code): Code;
  store(address: Code, value: Code): Code;
  constant(value: number): Code;
  add(x: Code, y: Code): Code;
  sub(x: Code, y: Code): Code;
  mul(x: Code, y: Code): Code;
  div(x: Code, y: Code): Code;
}
const bytesOf = (value: number): Code => Array.from(new Uint8Array(new Float64Array([value]).buffer));
const PAIRS: Lanes = {
  load: (address) => v128.load(address, 0),
  store: (address, value) => v128.store(address, 0, value),
  constant: (value) => simdOp(0x0c, ...bytesOf(value), ...bytesOf(value)),
  add: f64x2.add,
  sub: (x, y) => [...x, ...y, ...simdOp(0xf1)],
  mul: f64x2.mul,
  div: (x, y) => [...x, ...y, ...simdOp(0xf3)],
};
const SINGLE: Lanes = {
  load: (address) => [...address, 0x2b, ALIGN_8, 0],
  store: (address, value) => [...address, ...value, 0x39, ALIGN_8, 0],
  constant: (value) => [0x44, ...bytesOf(value)],
  add: (x, y) => [...x, ...y, 0xa0],
  sub: (x, y) => [...x, ...y, 0xa1],
  mul: (x, y) => [...x, ...y, 0xa2],
  div: (x, y) => [...x, ...y, 0xa3],
};

// block { loop { br_if 1 (done); body; br 0 } }: a while loop.
const EMPTY_BLOCK_TYPE = 0x40;
const ifThen = (condition: Code, then: Code): Code => seq(condition, [0x04, EMPTY_BLOCK_TYPE], then, [0x0b]);
const ifThenElse = (condition: Code, then: Code, otherwise: Code): Code =>
  seq(condition, [0x04, EMPTY_BLOCK_TYPE], then, [0x05], otherwise, [0x0b]);
function whileNot(done: Code, body: Code): Code {
  return seq([0x02, EMPTY_BLOCK_TYPE, 0x03, EMPTY_BLOCK_TYPE], done, [0x0d, 1], body, [0x0c, 0, 0x0b, 0x0b]);
}

// ---------------------------------------------------------------- the kernel
// gemm(a, sAi, sAp, b, bPerJ, sBp, c, m, k, n) computes C = A B in the
// kernel's memory, with A(i, p) at byte a + i·sAi + p·sAp (either layout of A,
// read in place), B(p, j..j+3) at b + j·bPerJ + p·sBp, and C row-major [m, n]
// at c. B is either row-major as it is (bPerJ = 8, sBp = 8n) or packed in
// panels of four columns (bPerJ = 8k, sBp = 32: panel q holds, for
// p = 0 … k − 1, B(p, 4q) … B(p, 4q + 3), the last padded with zeros). C is
// cut into 4×4 tiles. Each step of p loads B(p, j..j+3) as two pairs and each
// A(i+r, p) as a pair of equal values, for 16 multiply-adds in 8 pairs of sums
// that stay in registers through the whole p loop. At the bottom edge (rows
// left < 4) the missing rows re-read the tile's first row and are not stored;
// at the right edge (columns left < 4) a row-major B's pairs read up to three
// doubles past the row's end (into the next row, or the memory after B, for
// which GUARD_BYTES is kept: never outside the memory) and only the columns
// that exist are stored.

// Parameters, then locals.
const A = 0, S_AI = 1, S_AP = 2, B = 3, B_PER_J = 4, S_BP = 5, C = 6, M = 7, K = 8, N = 9;
const PARAMS = 10;
const J = 10, I = 11, P = 12, A0 = 13, BP = 17, CP = 18, ROWS_LEFT = 19, COLS_LEFT = 20;
const I32_LOCALS = 11; // J … COLS_LEFT, with A0 … A0 + 3 the tile's four row pointers into A
const SUMS = 21; // 8 pairs: row r, columns j..j+1 at SUMS + 2r, columns j+2..j+3 at SUMS + 2r + 1
const Y01 = 29, Y23 = 30, X = 31;
const V128_LOCALS = 11;

const step = (counter: number, by: Code): Code => local.set(counter, i32.add(local.get(counter), by));

function tileStep(): Code {
  const code: Code[] = [
    local.set(Y01, v128.load(local.get(BP), 0)),
    local.set(Y23, v128.load(local.get(BP), 16)),
  ];
  for (let r = 0; r < 4; r++) {
    code.push(
      local.set(X, v128.load64Splat(local.get(A0 + r), 0)),
      local.set(SUMS + 2 * r, f64x2.add(local.get(SUMS + 2 * r), f64x2.mul(local.get(X), local.get(Y01)))),
      local.set(SUMS + 2 * r + 1, f64x2.add(local.get(SUMS + 2 * r + 1), f64x2.mul(local.get(X), local.get(Y23)))),
      step(A0 + r, local.get(S_AP)),
    );
  }
  code.push(step(BP, local.get(S_BP)), step(P, i32.const(-1)));
  return seq(...code);
}

// Row r of the tile, if it exists, at cp: both pairs, or as many columns as are left.
function storeRow(r: number): Code {
  const left = local.get(SUMS + 2 * r), right = local.get(SUMS + 2 * r + 1);
  return ifThen(i32.ltU(i32.const(r), local.get(ROWS_LEFT)), seq(
    ifThenElse(i32.geU(local.get(COLS_LEFT), i32.const(2)),
      v128.store(local.get(CP), 0, left),
      v128.store64Lane(local.get(CP), 0, left, 0)),
    ifThenElse(i32.geU(local.get(COLS_LEFT), i32.const(4)),
      v128.store(local.get(CP), 16, right),
      ifThen(i32.eq(local.get(COLS_LEFT), i32.const(3)), v128.store64Lane(local.get(CP), 16, right, 0))),
  ));
}

function gemmBody(): Code {
  const tile: Code[] = [local.set(ROWS_LEFT, i32.sub(local.get(M), local.get(I)))];
  for (let s = 0; s < 8; s++) tile.push(local.set(SUMS + s, v128.zero()));
  // Row pointers: A(i + r, 0), or A(i, 0) again for a row past the bottom (read, never stored;
  // reading past A would stay inside the memory too, but this keeps the reads where A is).
  tile.push(local.set(A0, i32.add(local.get(A), i32.mul(local.get(I), local.get(S_AI)))));
  for (let r = 1; r < 4; r++) {
    tile.push(local.set(A0 + r, select(
      i32.add(local.get(A0), i32.mul(i32.const(r), local.get(S_AI))),
      local.get(A0),
      i32.ltU(i32.const(r), local.get(ROWS_LEFT)),
    )));
  }
  tile.push(
    local.set(BP, i32.add(local.get(B), i32.mul(local.get(J), local.get(B_PER_J)))),
    local.set(P, local.get(K)),
    whileNot(i32.eqz(local.get(P)), tileStep()),
    // cp = c + 8 (i · n + j), then one row of C per row of the tile.
    local.set(CP, i32.add(local.get(C), i32.mul(i32.add(i32.mul(local.get(I), local.get(N)), local.get(J)), i32.const(8)))),
  );
  for (let r = 0; r < 4; r++) tile.push(storeRow(r), step(CP, i32.mul(local.get(N), i32.const(8))));
  // Columns outside, rows inside: the 4 columns of B a tile reads stay in cache while every row of A passes them.
  return seq(
    local.set(J, i32.const(0)),
    whileNot(i32.geU(local.get(J), local.get(N)), seq(
      local.set(COLS_LEFT, i32.sub(local.get(N), local.get(J))),
      local.set(I, i32.const(0)),
      whileNot(i32.geU(local.get(I), local.get(M)), seq(...tile, step(I, i32.const(4)))),
      step(J, i32.const(4)),
    )),
  );
}

// ---------------------------------------------------------------- elementwise kernels
// For tensors that live in the kernel's memory (see "Tensors in the kernel's
// memory" below): f(in₀, …, out₀, …, bytes) reads its inputs and writes its
// outputs, arrays of `bytes` / 8 doubles at those byte addresses, two
// elements per instruction and a last odd one alone. Each computes what the
// JavaScript loop it stands in for computes (binary.ts, unary.ts): the same
// operations in the same order on each element, each rounded once, so the
// values are the same whichever runs. (All but a NaN's sign and payload:
// where both operands of add or mul are NaN, x86 returns the first one's, and
// V8 may swap a commutative op's operands, so the JavaScript loop may return
// the other's. JavaScript promises nothing about them, and every NaN is NaN.)

interface Elementwise {
  inputs: number;
  outputs: number;
  /** The outputs' values, from the inputs' values x. */
  body: (L: Lanes, x: readonly Code[]) => Code[];
}

const ELEMENTWISE = {
  add: { inputs: 2, outputs: 1, body: (L, [a, b]) => [L.add(a, b)] },
  sub: { inputs: 2, outputs: 1, body: (L, [a, b]) => [L.sub(a, b)] },
  mul: { inputs: 2, outputs: 1, body: (L, [a, b]) => [L.mul(a, b)] },
  div: { inputs: 2, outputs: 1, body: (L, [a, b]) => [L.div(a, b)] },
  // g (1 − y²), and its cotangents gg (1 − y²) and gg (g (−2y))
  tanhGrad: { inputs: 2, outputs: 1, body: (L, [g, y]) => [L.mul(g, L.sub(L.constant(1), L.mul(y, y)))] },
  tanhGrad2: {
    inputs: 3, outputs: 2,
    body: (L, [gg, g, y]) => [L.mul(gg, L.sub(L.constant(1), L.mul(y, y))), L.mul(gg, L.mul(g, L.mul(y, L.constant(-2))))],
  },
  // g (y (1 − y)), and its cotangents gg (y (1 − y)) and gg (g (1 − 2y))
  sigmoidGrad: { inputs: 2, outputs: 1, body: (L, [g, y]) => [L.mul(g, L.mul(y, L.sub(L.constant(1), y)))] },
  sigmoidGrad2: {
    inputs: 3, outputs: 2,
    body: (L, [gg, g, y]) => [L.mul(gg, L.mul(y, L.sub(L.constant(1), y))), L.mul(gg, L.mul(g, L.sub(L.constant(1), L.mul(y, L.constant(2)))))],
  },
} satisfies Record<string, Elementwise>;

export type ElementwiseKernel = keyof typeof ELEMENTWISE;

const F64_TYPE = 0x7c;

// One pass over `bytes` bytes from byte offset AT = 0: `step` on pairs, then on an odd last element.
function overBytes(BYTES: number, AT: number, step: (L: Lanes) => Code): Code {
  return seq(
    local.set(AT, i32.const(0)),
    whileNot(i32.gtU(i32.add(local.get(AT), i32.const(16)), local.get(BYTES)), seq(step(PAIRS), local.set(AT, i32.add(local.get(AT), i32.const(16))))),
    ifThen(i32.ltU(local.get(AT), local.get(BYTES)), step(SINGLE)),
  );
}

const offset = (base: number, AT: number): Code => i32.add(local.get(base), local.get(AT));

// Locals after the parameters: the byte offset, the inputs' values as pairs, then as single doubles.
function elementwiseBody({ inputs, outputs, body }: Elementwise): Code {
  const params = inputs + outputs + 1;
  const BYTES = params - 1, AT = params, PAIR = params + 1, ONE = PAIR + inputs;
  const step = (L: Lanes): Code => {
    const first = L === PAIRS ? PAIR : ONE;
    const code: Code[] = [];
    for (let j = 0; j < inputs; j++) code.push(local.set(first + j, L.load(offset(j, AT))));
    const values = body(L, Array.from({ length: inputs }, (_, j) => local.get(first + j)));
    values.forEach((value, o) => code.push(L.store(offset(inputs + o, AT), value)));
    return seq(...code);
  };
  return seq(
    vector([...uleb(1), I32_TYPE], [...uleb(inputs), V128_TYPE], [...uleb(inputs), F64_TYPE]),
    overBytes(BYTES, AT, step),
  );
}

// ---------------------------------------------------------------- row kernels
// Loops over the m rows of a row-major [m, n] matrix C at c (`bytes` = 8n per
// row), each row one pass of overBytes, as linalg.ts and reduce.ts loop:
//   outer(a, sAi, b, c, m, bytes):  C(i, j) = A(i) · B(j), A(i) at a + i·sAi (bytes)
//   addRow(c, b, m, bytes):         C(i, j) = C(i, j) + B(j), in place (a layer's bias)
//   sumRows(x, c, m, bytes):        C(j) = ((0 + X(0, j)) + X(1, j)) + …, X [m, n] at x, C one row
// (the same operations, in the same order, as the loops they stand in for).

interface RowKernel {
  params: number;
  body: () => Code;
}

function rowsOf(M: number, body: Code): Code {
  return whileNot(i32.eqz(local.get(M)), seq(body, step(M, i32.const(-1))));
}

// For each of m rows: DEST = DEST + SRC, then the pointer `moving` (DEST or SRC) steps a row.
function addRows(DEST: number, SRC: number, moving: number, M: number, BYTES: number, AT: number): Code {
  return rowsOf(M, seq(
    overBytes(BYTES, AT, (L) => L.store(offset(DEST, AT), L.add(L.load(offset(DEST, AT)), L.load(offset(SRC, AT))))),
    step(moving, local.get(BYTES)),
  ));
}

const ROW_KERNELS = {
  outer: {
    params: 6,
    body: () => {
      const A = 0, S_AI = 1, B = 2, C = 3, M = 4, BYTES = 5, AT = 6, X = 7, XS = 8;
      return seq(
        vector([...uleb(1), I32_TYPE], [...uleb(1), V128_TYPE], [...uleb(1), F64_TYPE]),
        rowsOf(M, seq(
          local.set(X, v128.load64Splat(local.get(A), 0)),
          local.set(XS, SINGLE.load(local.get(A))),
          overBytes(BYTES, AT, (L) => L.store(offset(C, AT), L.mul(local.get(L === PAIRS ? X : XS), L.load(offset(B, AT))))),
          step(C, local.get(BYTES)),
          step(A, local.get(S_AI)),
        )),
      );
    },
  },
  addRow: {
    params: 4,
    body: () => {
      const C = 0, B = 1, M = 2, BYTES = 3, AT = 4;
      return seq(vector([...uleb(1), I32_TYPE]), addRows(C, B, C, M, BYTES, AT));
    },
  },
  sumRows: {
    params: 4,
    body: () => {
      const X = 0, C = 1, M = 2, BYTES = 3, AT = 4;
      return seq(
        vector([...uleb(1), I32_TYPE]),
        overBytes(BYTES, AT, (L) => L.store(offset(C, AT), L.constant(0))),
        addRows(C, X, X, M, BYTES, AT),
      );
    },
  },
} satisfies Record<string, RowKernel>;

const I32_TYPE = 0x7f, V128_TYPE = 0x7b;
const vector = (...items: Code[]): Code => [...uleb(items.length), ...items.flat()];

function assemble(): Uint8Array {
  const name = (text: string): Code => [...uleb(text.length), ...Array.from(text, (ch) => ch.charCodeAt(0))];
  const section = (id: number, content: Code): Code => [id, ...uleb(content.length), ...content];
  const FUNC_TYPE = 0x60, IMPORT_MEMORY = 2, EXPORT_FUNC = 0, END = 0x0b;
  const i32Params = (count: number): Code => [FUNC_TYPE, ...vector(...new Array<Code>(count).fill([I32_TYPE])), ...vector()];
  const gemmLocals = vector([...uleb(I32_LOCALS), I32_TYPE], [...uleb(V128_LOCALS), V128_TYPE]);
  // Function i has type i: gemm (i32 × 10) → (), then each elementwise kernel (i32 × its arrays + 1) → (), then the row kernels.
  const kernels = Object.entries(ELEMENTWISE) as [string, Elementwise][];
  const rowKernels = Object.entries(ROW_KERNELS) as [string, RowKernel][];
  const types = [
    i32Params(PARAMS),
    ...kernels.map(([, k]) => i32Params(k.inputs + k.outputs + 1)),
    ...rowKernels.map(([, k]) => i32Params(k.params)),
  ];
  const bodies = [
    [...gemmLocals, ...gemmBody(), END],
    ...kernels.map(([, k]) => [...elementwiseBody(k), END]),
    ...rowKernels.map(([, k]) => [...k.body(), END]),
  ];
  const names = ['gemm', ...kernels.map(([kernelName]) => kernelName), ...rowKernels.map(([kernelName]) => kernelName)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vector(...types)),
    ...section(2, vector([...name('env'), ...name('memory'), IMPORT_MEMORY, 0x00, ...uleb(1)])), // a memory of 1 page or more
    ...section(3, vector(...types.map((_, i) => uleb(i)))),
    ...section(7, vector(...names.map((text, i) => [...name(text), EXPORT_FUNC, ...uleb(i)]))),
    ...section(10, vector(...bodies.map((body) => [...uleb(body.length), ...body]))),
  ]);
}

// ---------------------------------------------------------------- running it

// The few parts of the WebAssembly JavaScript API used here (the compile
// options' lib, ES2022, does not describe it; every runtime mcgrad supports has it).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
};

interface Kernel {
  module: object;
  /** The memory's buffer, which never changes (the memory never grows), and a view of all of it. */
  buffer: ArrayBuffer;
  f64: Float64Array;
  gemm: (a: number, sAi: number, sAp: number, b: number, bPerJ: number, sBp: number, c: number, m: number, k: number, n: number) => void;
  /** The elementwise kernels, by name: (inputs…, outputs…, bytes) → (), every argument a byte count. */
  elementwise: Record<ElementwiseKernel, (...addresses: number[]) => void>;
  rows: {
    outer: (a: number, sAi: number, b: number, c: number, m: number, bytes: number) => void;
    addRow: (c: number, b: number, m: number, bytes: number) => void;
    sumRows: (x: number, c: number, m: number, bytes: number) => void;
  };
}

let kernel: Kernel | null | undefined; // undefined: not tried yet; null: not available here
let enabled = true;

function loadKernel(): Kernel | null {
  if (typeof WebAssembly !== 'object') return null;
  try {
    // Compiled synchronously: the module is under 4 KB, what a browser allows
    // on its main thread (Chromium before version 114).
    const bytes = assemble();
    if (!WebAssembly.validate(bytes)) return null; // no SIMD in this runtime
    return instantiate(new WebAssembly.Module(bytes), 1);
  } catch {
    return null; // compiling forbidden (a content security policy), or out of memory
  }
}

// The kernel never grows its memory: growing detaches the old buffer, and the
// first ArrayBuffer ever detached in a V8 process makes every typed-array access
// in optimized code check for detachment from then on (the 1e6 elementwise
// benchmark, which has no matrix product, ran 20% slower after one grow).
// When a product needs more room, a new instance gets a new, larger memory,
// and the old one is left to the garbage collector (or to the tensors that
// still live in it, see the arena below).
function instantiate(module: object, pages: number): Kernel {
  const memory = new WebAssembly.Memory({ initial: pages });
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  const elementwise = {} as Kernel['elementwise'];
  for (const name of Object.keys(ELEMENTWISE) as ElementwiseKernel[]) elementwise[name] = exports[name] as Kernel['elementwise'][ElementwiseKernel];
  const rows = { outer: exports.outer, addRow: exports.addRow, sumRows: exports.sumRows } as Kernel['rows'];
  return { module, buffer: memory.buffer, f64: new Float64Array(memory.buffer), gemm: exports.gemm as Kernel['gemm'], elementwise, rows };
}

/** The kernel's memory, for the spec that checks it is never detached. Internal. */
export function kernelBuffer(): ArrayBuffer | null {
  return simdActive() ? (kernel as Kernel).buffer : null;
}

/** Whether the WebAssembly kernel runs in this runtime (and is not switched off). */
export function simdActive(): boolean {
  if (kernel === undefined) kernel = loadKernel();
  return enabled && kernel !== null;
}

/**
 * Switch the WebAssembly kernel off (or back on), so that specs and benchmarks
 * can run the JavaScript kernel on the same products. Returns the previous
 * setting. Internal: not exported from index.ts.
 */
export function useSimd(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

// A product whose operands and result need more memory than this stays in
// JavaScript (every side about 2 360 when all three are equal).
const MAX_BYTES = 128 << 20;
// The memory the kernel keeps for good (more when the arena below needs it).
// A product that needs more gets a memory of its own size, which the next
// products reuse while they need more than this too; LET_GO_AFTER products
// in a row that fit in it let it go.
const KEEP_BYTES = 16 << 20;
// Below this many rows of A, a row-major B is read in place rather than packed.
const FEW_ROWS = 64;
/**
 * @internal Outside estimator calls, a memory larger than `keep` (KEEP_BYTES,
 * or what estimator calls need) is let go after this many products in a row
 * that fit in it, with no estimator call between them: a large product and
 * small ones taking turns (a network of 2 000 units between batches of a few
 * samples, five or so products per batch) would otherwise make a new memory
 * for every large one.
 */
export const LET_GO_AFTER = 32;
let smallProducts = 0;
// The kernel reads up to three doubles past the end of a row-major B's last row.
const GUARD_BYTES = 32;

/**
 * C[cOff + i·n + j] = Σ_p A(i, p) B(p, j), with A(i, p) at A[aOff + i·sAi + p·sAp]
 * and B(p, j) at B[bOff + p·sBp + j·sBj] (the strided layout of linalg.ts), on
 * the WebAssembly kernel. A is copied in as one block, so it must be one whole
 * matrix, row-major or transposed (as linalg.ts passes it); B may have any
 * strides. Operands and results that live in the kernel's memory (the arena
 * below) are read and written where they are. Returns false, having written
 * nothing, where the kernel is not available, A is not whole, or the product
 * needs more than MAX_BYTES; the caller then runs its own kernel.
 */
export function simdGemm(
  Av: Float64Array, aOff: number, sAi: number, sAp: number,
  Bv: Float64Array, bOff: number, sBp: number, sBj: number,
  Cv: Float64Array, cOff: number,
  m: number, k: number, n: number,
): boolean {
  if (!simdActive()) return false;
  if (!((sAp === 1 && sAi === k) || (sAi === 1 && sAp === m))) return false;
  if (aOff + m * k > Av.length) throw new RangeError(`simdGemm: A [${m}, ${k}] from ${aOff} runs past its ${Av.length} values`);
  // A row-major B with few rows of A to amortize its packing (k·n copies one
  // at a time, against one block copy) is read in place; otherwise its panels,
  // contiguous along p, make the faster inner loop.
  const inPlace = sBj === 1 && sBp === n && m < FEW_ROWS;
  let current = kernel as Kernel;
  place(current, Av, aOff, Bv, bOff, inPlace, Cv, cOff, m, k, n);
  if (8 * (at.end - at.start) > MAX_BYTES) return false;
  const size = current.buffer.byteLength;
  const bytes = 8 * at.end + GUARD_BYTES;
  if (current === arena) arenaProductBytes = Math.max(arenaProductBytes, bytes); // the next frames' memory holds it
  const floor = arenaBytes(); // never below what estimator calls need: they would only make it again
  const keep = Math.max(KEEP_BYTES, floor);
  if (arena === null) smallProducts = bytes <= keep ? smallProducts + 1 : 0;
  const letGo = arena === null && size > keep && smallProducts >= LET_GO_AFTER;
  if (size < bytes || letGo) {
    // Growing: twice the room up to `keep`, so that a run of growing products
    // makes few instances. Letting a large memory go: room for twice this
    // product, or what estimator calls need. Tensors in the old memory are
    // copied in like any others from then on.
    smallProducts = 0;
    const target = size < bytes ? Math.max(bytes, Math.min(2 * size, keep)) : Math.max(Math.min(2 * bytes, keep), floor);
    try {
      kernel = instantiate(current.module, Math.ceil(target / PAGE));
    } catch {
      if (size < bytes) return false;
    }
    current = kernel as Kernel;
    place(current, Av, aOff, Bv, bOff, inPlace, Cv, cOff, m, k, n);
  }
  const mem = current.f64;
  if (!at.aHere) mem.set(Av.subarray(aOff, aOff + m * k), at.a);
  if (inPlace) {
    if (!at.bHere) mem.set(Bv.subarray(bOff, bOff + k * n), at.b);
    current.gemm(8 * at.a, 8 * sAi, 8 * sAp, 8 * at.b, 8, 8 * n, 8 * at.c, m, k, n);
  } else {
    packColumns(Bv, bOff, sBp, sBj, mem, at.b, k, n);
    current.gemm(8 * at.a, 8 * sAi, 8 * sAp, 8 * at.b, 8 * k, 32, 8 * at.c, m, k, n);
  }
  if (!at.cHere) Cv.set(mem.subarray(at.c, at.c + m * n), cOff);
  return true;
}

// Where simdGemm's A, B (as it is, or its panels) and C start in the kernel's
// memory, in doubles, and whether each is already there; the copies' room runs
// from `start` (above the open arena's tensors) to `end`. One object, refilled
// by place() for each product.
const at = { a: 0, b: 0, c: 0, aHere: false, bHere: false, cHere: false, start: 0, end: 0 };

// Operands already in the kernel's memory stay where they are; the others are
// copied above the arena's tensors, each from a multiple of 16 bytes so that
// the kernel's pairs are aligned.
function place(
  current: Kernel, Av: Float64Array, aOff: number, Bv: Float64Array, bOff: number, inPlace: boolean,
  Cv: Float64Array, cOff: number, m: number, k: number, n: number,
): void {
  const buffer = current.buffer;
  let end = current === arena ? arenaTop / 8 : 0;
  at.start = end;
  at.aHere = Av.buffer === buffer;
  if (at.aHere) at.a = Av.byteOffset / 8 + aOff;
  else {
    at.a = end;
    end += roundUp2(m * k);
  }
  at.bHere = inPlace && Bv.buffer === buffer;
  if (at.bHere) at.b = Bv.byteOffset / 8 + bOff;
  else {
    at.b = end;
    end += roundUp2(inPlace ? k * n : ((n + 3) & ~3) * k);
  }
  at.cHere = Cv.buffer === buffer;
  if (at.cHere) at.c = Cv.byteOffset / 8 + cOff;
  else {
    at.c = end;
    end += m * n;
  }
  at.end = end;
}

const roundUp2 = (x: number): number => x + (x & 1);

// B's columns as the kernel's panels of four, from M[at] on, the last padded with zeros.
function packColumns(Bv: Float64Array, b: number, sBp: number, sBj: number, M: Float64Array, at: number, k: number, n: number): void {
  const full = n & ~3;
  for (let j = 0; j < full; j += 4) {
    let from = b + j * sBj, to = at + j * k;
    for (let p = 0; p < k; p++, from += sBp, to += 4) {
      M[to] = Bv[from];
      M[to + 1] = Bv[from + sBj];
      M[to + 2] = Bv[from + 2 * sBj];
      M[to + 3] = Bv[from + 3 * sBj];
    }
  }
  if (full < n) {
    const width = n - full;
    let from = b + full * sBj, to = at + full * k;
    for (let p = 0; p < k; p++, from += sBp, to += 4) {
      for (let w = 0; w < 4; w++) M[to + w] = w < width ? Bv[from + w * sBj] : 0;
    }
  }
}

// ---------------------------------------------------------------- tensors in the kernel's memory
//
// Copying operands in and results out is a fifth of a product's time at
// RELAX's sizes, and a JavaScript loop over typed arrays checks every access
// (1–1.6 ns per element here, against 0.3–0.4 ns for the elementwise kernels
// above). So while an estimator's recycling frame is open (tensor.ts), its
// tensors are cut from the kernel's memory, bottom up (the small ones too:
// the space is reused, where a fresh slab costs), and the products and
// elementwise kernels read and write them where they are. When
// the frame closes, tensor.ts copies its results out to ordinary arrays (and
// anything handed to outside code, before it is handed), and the next frame
// reuses the space. A frame that asks for more than the space has gets
// ordinary arrays for the rest, and the frames after it a larger space, up to
// ARENA_MAX of tensors; a product whose copies need more room than is left
// above them makes a larger memory, which the frames after it keep too. The
// memory is never grown in place (see instantiate): a larger one is a new
// instance. It is kept at the most any frame has needed (as PyTorch's caching
// allocator keeps what it has: up to ARENA_MAX and the largest product's
// copies above it), never let go while a frame is open; a memory larger than
// that (a large plain product made it) is let go after LET_GO_AFTER small
// plain products in a row (simdGemm), or replaced at the next frame when it is
// more than twice the frames' size (openArena).

/**
 * The shortest array the kernels take (the arena holds shorter ones too, in
 * an estimator's frame, but for those the JavaScript loop costs less than
 * the call that checks where they live).
 */
export const ARENA_MIN_LENGTH = 129;

let arena: Kernel | null = null; // the instance whose memory holds the open frame's tensors
let arenaBuffer: ArrayBuffer | null = null; // its memory's buffer while a frame is open
let arenaTop = 0; // bytes handed out, from 0
let arenaEnd = 0; // bytes that may be handed out
let arenaAsked = 0; // bytes the open frame has asked for, handed out or not
let arenaProductBytes = 0; // the most memory a product of the open frame needed, its tensors below included
let arenaHigh = 0; // the most memory a frame has needed: what the next frames get
let arenaLast = 0; // bytes the last closed frame took from the arena, which the next one reuses
const ARENA_MAX = 64 << 20;
// Kept free above the arena's tensors for the products' copies (a packed B, an operand from elsewhere).
const ARENA_SLACK = 1 << 20;
const PAGE = 65536;

/**
 * The memory the arena keeps the kernel at, in whole pages (a memory has
 * whole pages: a byte count between them would let every product below it
 * shrink the memory that the next frame then makes again).
 */
function arenaBytes(): number {
  return Math.ceil(arenaHigh / PAGE) * PAGE;
}

/**
 * @internal Opens the arena for a recycling frame (tensor.ts); false where
 * the kernel does not run. Only one frame at a time: the outermost.
 */
export function openArena(): boolean {
  if (!simdActive() || arena !== null) return false;
  let current = kernel as Kernel;
  const want = arenaBytes();
  const size = current.buffer.byteLength;
  // Too small, or more than twice what the calls need (a large plain product
  // made it): a memory of the calls' size.
  if (size < want || (want > 0 && size > 2 * Math.max(want, KEEP_BYTES))) {
    try {
      current = kernel = instantiate(current.module, want / PAGE);
    } catch {
      // out of memory: the frame gets what the current memory has room for
    }
  }
  arena = current;
  arenaBuffer = current.buffer;
  arenaTop = 0;
  arenaAsked = 0;
  arenaProductBytes = 0;
  // At most ARENA_MAX of tensors, whatever the memory's size (a product may have
  // made it larger): more would need larger copies above them, and a larger
  // memory, frame after frame.
  arenaEnd = Math.max(0, Math.min(arenaBuffer.byteLength - ARENA_SLACK, ARENA_MAX));
  return true;
}

/**
 * @internal A Float64Array of length n in the open arena, its contents left
 * from earlier frames; null when the arena is full (or not open).
 */
export function arenaAlloc(n: number): Float64Array | null {
  if (arenaBuffer === null) return null;
  const bytes = 16 * Math.ceil(n / 2); // whole pairs, so that every array starts 16-byte aligned (no 32-bit overflow)
  arenaAsked += bytes;
  if (arenaTop + bytes > arenaEnd) return null;
  const out = new Float64Array(arenaBuffer, arenaTop, n);
  arenaTop += bytes;
  return out;
}

/** @internal Whether x lives in the open arena. */
export function inArena(x: Float64Array): boolean {
  return x.buffer === arenaBuffer;
}

/**
 * @internal Closes the arena. With `reuse` false (the frame threw, so some of
 * its tensors may be held somewhere), its memory is never handed out again:
 * the kernel moves to a new one, unless the frame took nothing from it.
 */
export function closeArena(reuse: boolean): void {
  const closing = arena as Kernel;
  // The next frames' memory: the tensors' room (up to ARENA_MAX) and the slack,
  // or what a product of this frame needed, tensors below it included (up to
  // ARENA_MAX + MAX_BYTES), so that the product fits without a new memory; and
  // the most any frame has needed, not the last one's, since frames of
  // different sizes take turns (a benchmark, a user's several estimators,
  // estimates at n = 1 between them) and a smaller memory would be made again
  // for every larger frame.
  arenaHigh = Math.max(arenaHigh, Math.min(arenaAsked, ARENA_MAX) + ARENA_SLACK, arenaProductBytes);
  const taken = arenaTop;
  arenaLast = reuse ? arenaTop : 0;
  arena = null;
  arenaBuffer = null;
  arenaTop = 0;
  arenaEnd = 0;
  if (!reuse && kernel === closing && taken > 0) {
    try {
      kernel = instantiate(closing.module, closing.buffer.byteLength / PAGE);
    } catch {
      kernel = null; // no memory for a new one: the JavaScript kernels from here on
    }
  }
}

/** @internal Bytes the last closed frame took from the arena, for the next (for specs). */
export function arenaByteCount(): number {
  return arenaLast;
}

/** @internal Forgets how much space frames have asked for and took (for specs). */
export function resetArena(): void {
  arenaHigh = 0;
  arenaLast = 0;
}

/**
 * out = the kernel `name` of a and b (add, sub, mul, div, tanhGrad,
 * sigmoidGrad), elementwise, when all three arrays live in the open arena
 * and have the same length; returns false, having written nothing, otherwise
 * (the caller's JavaScript loop then runs).
 */
export function arenaBinary(name: ElementwiseKernel, a: Float64Array, b: Float64Array, out: Float64Array): boolean {
  const buffer = arenaBuffer;
  if (buffer === null || out.buffer !== buffer || a.buffer !== buffer || b.buffer !== buffer) return false;
  if (a.length !== out.length || b.length !== out.length) return false;
  (arena as Kernel).elementwise[name](a.byteOffset, b.byteOffset, out.byteOffset, out.byteLength);
  return true;
}

/** As arenaBinary, for the kernels of three inputs and two outputs (tanhGrad2, sigmoidGrad2). */
export function arenaTernary(name: ElementwiseKernel, a: Float64Array, b: Float64Array, c: Float64Array, out0: Float64Array, out1: Float64Array): boolean {
  const buffer = arenaBuffer;
  if (buffer === null || out0.buffer !== buffer || out1.buffer !== buffer || a.buffer !== buffer || b.buffer !== buffer || c.buffer !== buffer) return false;
  const n = out0.length;
  if (a.length !== n || b.length !== n || c.length !== n || out1.length !== n) return false;
  (arena as Kernel).elementwise[name](a.byteOffset, b.byteOffset, c.byteOffset, out0.byteOffset, out1.byteOffset, out0.byteLength);
  return true;
}

/**
 * The byte address of view[off … off + length) for a row kernel running on the
 * open arena: where it is, if it lives there, or else the room just above the
 * arena's tensors, with a copy of it when `copy` (until the next kernel call).
 * −1 where there is no room.
 */
function addressOf(view: Float64Array, off: number, length: number, copy = true): number {
  if (view.buffer === arenaBuffer) return view.byteOffset + 8 * off;
  const address = arenaTop;
  if (address + 8 * length > (arena as Kernel).buffer.byteLength) return -1;
  if (copy) (arena as Kernel).f64.set(view.subarray(off, off + length), address / 8);
  return address;
}

/**
 * The outer product C(i, j) = A(i) · B(j) (linalg.ts, a product with k = 1),
 * A(i) at A[aOff + i·sAi], B(j) at B[bOff + j·sBj], C row-major [m, n] from
 * cOff, on the row kernel: in place where the arrays live in the kernel's
 * memory (an estimator's arena), copied in and out where they do not. False,
 * having written nothing, where the kernel does not run or the copies do not
 * fit in its memory (linalg.ts then runs its own loop: the same products).
 */
export function simdOuter(A: Float64Array, aOff: number, sAi: number, B: Float64Array, bOff: number, sBj: number, C: Float64Array, cOff: number, m: number, n: number): boolean {
  if (!simdActive()) return false;
  const current = kernel as Kernel;
  const buffer = current.buffer;
  let end = current === arena ? arenaTop : 0; // bytes: the copies' room, above the arena's tensors
  const place = (here: boolean, view: Float64Array, off: number, length: number): number => {
    if (here) return view.byteOffset + 8 * off;
    const from = end;
    end += 16 * Math.ceil(length / 2);
    return from;
  };
  const aHere = A.buffer === buffer, bHere = B.buffer === buffer && sBj === 1, cHere = C.buffer === buffer;
  const a = place(aHere, A, aOff, m), b = place(bHere, B, bOff, n), c = place(cHere, C, cOff, m * n);
  if (end > buffer.byteLength) return false;
  const mem = current.f64;
  if (!aHere) for (let i = 0; i < m; i++) mem[a / 8 + i] = A[aOff + i * sAi];
  if (!bHere) for (let j = 0; j < n; j++) mem[b / 8 + j] = B[bOff + j * sBj];
  current.rows.outer(a, aHere ? 8 * sAi : 8, b, c, m, 8 * n);
  if (!cHere) C.set(mem.subarray(c / 8, c / 8 + m * n), cOff);
  return true;
}

/** C(i, j) = C(i, j) + B(j) in place for C [m, n] (a layer's bias), when C lives in the open arena; false otherwise. */
export function arenaAddRow(C: Float64Array, B: Float64Array, m: number, n: number): boolean {
  if (arenaBuffer === null || C.buffer !== arenaBuffer || C.length !== m * n) return false;
  const b = addressOf(B, 0, n);
  if (b < 0) return false;
  (arena as Kernel).rows.addRow(C.byteOffset, b, m, 8 * n);
  return true;
}

/** out(j) = Σ_i X(i, j) in order from 0, for X [m, n] living in the open arena; false otherwise. */
export function arenaSumRows(X: Float64Array, out: Float64Array, m: number, n: number): boolean {
  if (arenaBuffer === null || X.buffer !== arenaBuffer || X.length !== m * n || out.length !== n) return false;
  const c = addressOf(out, 0, n, false);
  if (c < 0) return false;
  const kernel = arena as Kernel;
  kernel.rows.sumRows(X.byteOffset, c, m, 8 * n);
  if (out.buffer !== arenaBuffer) out.set(kernel.f64.subarray(c / 8, c / 8 + n));
  return true;
}
