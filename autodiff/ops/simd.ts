// Large matrix products in WebAssembly SIMD.
//
// JavaScript has no vector instructions, and every typed-array load is checked
// on its own: the 4×4 tile of linalg.ts does at best one multiply-add per
// cycle. WebAssembly's 128-bit SIMD multiplies and adds two doubles per
// instruction, and its loads need no check of their own. This file assembles
// one small WebAssembly function, a 4×4 tile over packed panels, from the
// instructions below at first use (no binary file, no build step, nothing
// fetched), and linalg.ts runs the products that are large enough to pay for
// the packing through it.
//
// Same bits as the JavaScript kernel. Each C(i, j) = Σ_p A(i, p) B(p, j) is
// summed in the same order, from +0 over p = 0, 1, …, k − 1, with one rounding
// per multiply and per add (no fused multiply-add), so the two kernels agree
// bit for bit and nothing else in mcgrad can tell which one ran.
//
// Where WebAssembly or its SIMD is missing (an old runtime, or a page whose
// content security policy forbids compiling it), simdGemm returns false and
// the JavaScript kernel does the work.

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
  geU: (x: Code, y: Code): Code => [...x, ...y, 0x4f],
};
const v128 = {
  zero: (): Code => simdOp(0x0c, ...new Array<number>(16).fill(0)),
  load: (address: Code, offset: number): Code => [...address, ...simdOp(0x00, ALIGN_8, ...uleb(offset))],
  load64Splat: (address: Code, offset: number): Code => [...address, ...simdOp(0x0a, ALIGN_8, ...uleb(offset))],
  store: (address: Code, offset: number, value: Code): Code => [...address, ...value, ...simdOp(0x0b, ALIGN_8, ...uleb(offset))],
};
const f64x2 = {
  add: (x: Code, y: Code): Code => [...x, ...y, ...simdOp(0xf0)],
  mul: (x: Code, y: Code): Code => [...x, ...y, ...simdOp(0xf2)],
};

// block { loop { br_if 1 (done); body; br 0 } }: a while loop.
const EMPTY_BLOCK_TYPE = 0x40;
function whileNot(done: Code, body: Code): Code {
  return seq([0x02, EMPTY_BLOCK_TYPE, 0x03, EMPTY_BLOCK_TYPE], done, [0x0d, 1], body, [0x0c, 0, 0x0b, 0x0b]);
}

// ---------------------------------------------------------------- the kernel
// gemm(a, b, c, rows, k, cols), with byte addresses a, b, c and rows, cols
// multiples of 4, computes the block C = A B from packed panels:
//   A's panel for rows i..i+3 holds, for p = 0 … k − 1, A(i, p) … A(i+3, p);
//   B's panel for columns j..j+3 holds, for p = 0 … k − 1, B(p, j) … B(p, j+3);
// and C is row-major [rows, cols]. Each step of p loads B(p, j..j+3) as two
// pairs, and each A(i+r, p) as a pair of equal values, for 16 multiply-adds in
// 8 pairs of sums that stay in registers through the whole p loop.

// Parameters, then locals.
const A = 0, B = 1, C = 2, ROWS = 3, K = 4, COLS = 5;
const J = 6, I = 7, P = 8, AP = 9, BP = 10, CP = 11;
const SUMS = 12; // 8 pairs: rows r = 0…3, columns j..j+1 at SUMS + 2r, j+2..j+3 at SUMS + 2r + 1
const Y01 = 20, Y23 = 21, X = 22;

const step = (counter: number, by: number): Code => local.set(counter, i32.add(local.get(counter), i32.const(by)));

function tileStep(): Code {
  const code: Code[] = [
    local.set(Y01, v128.load(local.get(BP), 0)),
    local.set(Y23, v128.load(local.get(BP), 16)),
  ];
  for (let r = 0; r < 4; r++) {
    code.push(
      local.set(X, v128.load64Splat(local.get(AP), 8 * r)),
      local.set(SUMS + 2 * r, f64x2.add(local.get(SUMS + 2 * r), f64x2.mul(local.get(X), local.get(Y01)))),
      local.set(SUMS + 2 * r + 1, f64x2.add(local.get(SUMS + 2 * r + 1), f64x2.mul(local.get(X), local.get(Y23)))),
    );
  }
  code.push(step(AP, 32), step(BP, 32), step(P, -1));
  return seq(...code);
}

function storeTile(): Code {
  // cp = c + 8 (i · cols + j), then one row of the tile per row of C.
  const code: Code[] = [local.set(CP, i32.add(local.get(C), i32.mul(i32.add(i32.mul(local.get(I), local.get(COLS)), local.get(J)), i32.const(8))))];
  for (let r = 0; r < 4; r++) {
    code.push(
      v128.store(local.get(CP), 0, local.get(SUMS + 2 * r)),
      v128.store(local.get(CP), 16, local.get(SUMS + 2 * r + 1)),
      local.set(CP, i32.add(local.get(CP), i32.mul(local.get(COLS), i32.const(8)))),
    );
  }
  return seq(...code);
}

function gemmBody(): Code {
  const zeroSums: Code[] = [];
  for (let s = 0; s < 8; s++) zeroSums.push(local.set(SUMS + s, v128.zero()));
  const tile = seq(
    ...zeroSums,
    // The panels of rows i… and columns j… start 8 · 4k · (i/4) = 8k·i and 8k·j bytes in.
    local.set(AP, i32.add(local.get(A), i32.mul(i32.mul(local.get(I), local.get(K)), i32.const(8)))),
    local.set(BP, i32.add(local.get(B), i32.mul(i32.mul(local.get(J), local.get(K)), i32.const(8)))),
    local.set(P, local.get(K)),
    whileNot(i32.eqz(local.get(P)), tileStep()),
    storeTile(),
  );
  // Columns outside, rows inside: a panel of B stays in cache while every panel of A passes it.
  return seq(
    local.set(J, i32.const(0)),
    whileNot(i32.geU(local.get(J), local.get(COLS)), seq(
      local.set(I, i32.const(0)),
      whileNot(i32.geU(local.get(I), local.get(ROWS)), seq(tile, step(I, 4))),
      step(J, 4),
    )),
  );
}

const I32_TYPE = 0x7f, V128_TYPE = 0x7b;

function assemble(): Uint8Array {
  const name = (text: string): Code => [...uleb(text.length), ...Array.from(text, (ch) => ch.charCodeAt(0))];
  const vector = (...items: Code[]): Code => [...uleb(items.length), ...items.flat()];
  const section = (id: number, content: Code): Code => [id, ...uleb(content.length), ...content];
  const FUNC_TYPE = 0x60, IMPORT_MEMORY = 2, EXPORT_FUNC = 0, END = 0x0b;
  const locals = vector([...uleb(6), I32_TYPE], [...uleb(11), V128_TYPE]);
  const body = [...locals, ...gemmBody(), END];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vector([FUNC_TYPE, ...vector(...new Array<Code>(6).fill([I32_TYPE])), ...vector()])), // type (i32 ×6) → ()
    ...section(2, vector([...name('env'), ...name('memory'), IMPORT_MEMORY, 0x00, ...uleb(1)])), // a memory of 1 page or more
    ...section(3, vector(uleb(0))), // function 0 has type 0
    ...section(7, vector([...name('gemm'), EXPORT_FUNC, 0])),
    ...section(10, vector([...uleb(body.length), ...body])),
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
  memory: WasmMemory;
  gemm: (a: number, b: number, c: number, rows: number, k: number, cols: number) => void;
}

let kernel: Kernel | null | undefined; // undefined: not tried yet; null: not available here
let enabled = true;

function loadKernel(): Kernel | null {
  if (typeof WebAssembly !== 'object') return null;
  try {
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
// and the old one is left to the garbage collector.
function instantiate(module: object, pages: number): Kernel {
  const memory = new WebAssembly.Memory({ initial: pages });
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  return { module, memory, gemm: exports.gemm as Kernel['gemm'] };
}

/** The kernel's memory, for the spec that checks it is never detached. Internal. */
export function kernelBuffer(): ArrayBuffer | null {
  return simdActive() ? (kernel as Kernel).memory.buffer : null;
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

// Blocks of at most BLOCK rows and BLOCK columns of C at a time, so that the
// memory the kernel keeps (it never shrinks) stays small whatever the
// product's size: 512 k + 65 536 doubles at most, 4.6 MB for k = 1000.
const BLOCK = 256;
// A product whose blocks would need more (k above about 16 000) stays in JavaScript.
const MAX_BYTES = 64 << 20;

/**
 * C[cOff + i·n + j] = Σ_p A(i, p) B(p, j), with A(i, p) at A[aOff + i·sAi + p·sAp]
 * and B(p, j) at B[bOff + p·sBp + j·sBj] (the strided layout of linalg.ts), on
 * the WebAssembly kernel. Returns false, having written nothing, where that
 * kernel is not available; the caller then runs its own.
 */
export function simdGemm(
  Av: Float64Array, aOff: number, sAi: number, sAp: number,
  Bv: Float64Array, bOff: number, sBp: number, sBj: number,
  Cv: Float64Array, cOff: number,
  m: number, k: number, n: number,
): boolean {
  if (!simdActive()) return false;
  const rows = Math.min(BLOCK, roundUp4(m)), cols = Math.min(BLOCK, roundUp4(n));
  // Layout in the kernel's memory: B's panels, then A's, then the block of C.
  const aAt = cols * k, cAt = aAt + rows * k, bytes = 8 * (cAt + rows * cols);
  if (bytes > MAX_BYTES) return false;
  let { memory, gemm } = kernel as Kernel;
  if (memory.buffer.byteLength < bytes) {
    // At least twice the room, so that a run of growing products makes few instances.
    const pages = Math.ceil(Math.max(bytes, 2 * memory.buffer.byteLength) / 65536);
    try {
      kernel = instantiate((kernel as Kernel).module, pages);
    } catch {
      return false;
    }
    ({ memory, gemm } = kernel);
  }
  const M = new Float64Array(memory.buffer);
  for (let j0 = 0; j0 < n; j0 += cols) {
    const nb = Math.min(cols, n - j0), nbPadded = roundUp4(nb);
    packColumns(Bv, bOff + j0 * sBj, sBp, sBj, M, k, nb);
    for (let i0 = 0; i0 < m; i0 += rows) {
      const mb = Math.min(rows, m - i0), mbPadded = roundUp4(mb);
      packRows(Av, aOff + i0 * sAi, sAi, sAp, M, aAt, k, mb);
      gemm(8 * aAt, 0, 8 * cAt, mbPadded, k, nbPadded);
      for (let i = 0; i < mb; i++) {
        const from = cAt + i * nbPadded, to = cOff + (i0 + i) * n + j0;
        for (let j = 0; j < nb; j++) Cv[to + j] = M[from + j];
      }
    }
  }
  return true;
}

const roundUp4 = (x: number): number => (x + 3) & ~3;

// B's columns j..j+nb−1 as panels of four (see the kernel), the last padded with zeros.
function packColumns(Bv: Float64Array, b: number, sBp: number, sBj: number, M: Float64Array, k: number, nb: number): void {
  const full = nb & ~3;
  for (let j = 0; j < full; j += 4) {
    let from = b + j * sBj, to = j * k;
    for (let p = 0; p < k; p++, from += sBp, to += 4) {
      M[to] = Bv[from];
      M[to + 1] = Bv[from + sBj];
      M[to + 2] = Bv[from + 2 * sBj];
      M[to + 3] = Bv[from + 3 * sBj];
    }
  }
  if (full < nb) packEdge(Bv, b + full * sBj, sBp, sBj, M, full * k, k, nb - full);
}

// A's rows i..i+mb−1 as panels of four, the last padded with zeros, from M[at] on.
function packRows(Av: Float64Array, a: number, sAi: number, sAp: number, M: Float64Array, at: number, k: number, mb: number): void {
  const full = mb & ~3;
  for (let i = 0; i < full; i += 4) {
    let from = a + i * sAi, to = at + i * k;
    for (let p = 0; p < k; p++, from += sAp, to += 4) {
      M[to] = Av[from];
      M[to + 1] = Av[from + sAi];
      M[to + 2] = Av[from + 2 * sAi];
      M[to + 3] = Av[from + 3 * sAi];
    }
  }
  if (full < mb) packEdge(Av, a + full * sAi, sAp, sAi, M, at + full * k, k, mb - full);
}

// The last panel of either operand: `width` (1 to 3) lines X[x + p·sAlong + l·sAcross], then zeros.
function packEdge(X: Float64Array, x: number, sAlong: number, sAcross: number, M: Float64Array, to: number, k: number, width: number): void {
  for (let p = 0; p < k; p++, x += sAlong, to += 4) {
    for (let l = 0; l < 4; l++) M[to + l] = l < width ? X[x + l * sAcross] : 0;
  }
}
