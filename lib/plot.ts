// Small SVG plots with no dependencies: line charts (with shaded interval
// bands and point markers) and bar or dot charts with error bars, each
// returned as one self-contained SVG string that a browser shows on its own.
// No DOM and no Node API: the string is built by hand and written to disk by
// the caller.
//
// A data value v is placed at the pixel
//
//   p(v) = r₀ + (r₁ − r₀) · (t(v) − t(d₀)) / (t(d₁) − t(d₀)),
//   t(v) = v on a linear axis,  t(v) = log₁₀ v on a log axis,
//
// for the domain [d₀, d₁] and the pixel range [r₀, r₁]. Ticks on a linear
// axis step by 1, 2 or 5 × 10^k (Heckbert, "Nice numbers for graph labels",
// Graphics Gems, 1990), and the domain is widened to whole steps; on a log axis
// major ticks sit on decades (every 2nd, 5th, … decade when there are many),
// with minor ticks at 2…9 × 10^k.
//
// Rules for awkward data, so a chart never throws on numbers:
// - a point whose x or y is NaN or ±Infinity is skipped, and a line breaks
//   there (a point left with no neighbour is drawn as a marker);
// - on a log axis a value ≤ 0 is skipped the same way, and the legend says how
//   many were ("(3 values ≤ 0 not shown)"); an interval's lower end ≤ 0 is
//   drawn to the bottom edge of the axis, since the interval does reach there;
// - with no data the axes span [0, 1] (log: [1, 10]) and say "no data";
// - identical values (or one point) get a domain around the value;
// - any finite data can be drawn, from 5e-324 to ±MAX_VALUE: a linear axis
//   spans at least 1e-300 (narrower data are widened around their centre),
//   and an axis whose whole ticks or decades would pass the largest or
//   smallest double ends on the data instead; no coordinate is NaN or
//   infinite. Only a fixed linear domain narrower than 1e-300 is refused;
// - colours, like all text, are XML-escaped.

// ---------------------------------------------------------------- public types

/** How an axis maps values to pixels. */
export type ScaleKind = 'linear' | 'log';

/** How a line series is drawn: a polyline, markers only, or both. */
export type SeriesStyle = 'line' | 'points' | 'line+points';

/** One series of a line chart. `lower`/`upper` (same length as `x`) draw a shaded band, e.g. a min/max range or a CI. */
export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  lower?: ArrayLike<number>;
  upper?: ArrayLike<number>;
  /** Default 'line'. */
  style?: SeriesStyle;
  /** A CSS colour; default: the series' colour from PALETTE. */
  color?: string;
}

/** A straight reference line across the plot, e.g. y = 0 or an exact value. */
export interface ReferenceLine {
  value: number;
  label?: string;
  /** For line charts: the axis the value belongs to (default 'y', a horizontal line). */
  axis?: 'x' | 'y';
}

/** Options shared by every chart. */
export interface ChartOptions {
  title?: string;
  /** Total size in pixels (default 640 × 400; a horizontal bar chart's default height grows with the categories). */
  width?: number;
  height?: number;
  /** Show the legend (to the right of the plot, never over the data). Default: when there is more than one series, or a note to show. */
  legend?: boolean;
  /** Minor ticks on log axes (default true). */
  minorTicks?: boolean;
  reference?: ReferenceLine[];
}

/** Options of `lineChart`. */
export interface LineChartOptions extends ChartOptions {
  xLabel?: string;
  yLabel?: string;
  xScale?: ScaleKind;
  yScale?: ScaleKind;
  /** Fixed domains; by default each axis spans the data (and reference lines), widened to whole ticks. */
  xDomain?: [number, number];
  yDomain?: [number, number];
  series: LineSeries[];
}

/** One series of a bar chart: one value per category, with optional interval ends. */
export interface BarSeries {
  name: string;
  values: ArrayLike<number>;
  lower?: ArrayLike<number>;
  upper?: ArrayLike<number>;
  color?: string;
}

/** Options of `barChart`. Give either `values` (one series) or `series` (grouped bars). */
export interface BarChartOptions extends ChartOptions {
  categories: string[];
  values?: ArrayLike<number>;
  lower?: ArrayLike<number>;
  upper?: ArrayLike<number>;
  series?: BarSeries[];
  /** The value axis (default 'linear'). On a log axis bars grow from the bottom edge of the axis. */
  scale?: ScaleKind;
  /** Default 'horizontal': categories down the left side, values along the bottom. */
  orientation?: 'horizontal' | 'vertical';
  /** 'bar' (default) draws bars; 'dot' draws a marker at the value, which reads better on a log axis. */
  style?: 'bar' | 'dot';
  valueLabel?: string;
  categoryLabel?: string;
  /** A fixed value-axis domain. */
  domain?: [number, number];
}

/** Ticks of one axis: where the axis ends, which ticks carry labels, and the minor ticks. */
export interface Ticks {
  domain: [number, number];
  major: number[];
  minor: number[];
}

/**
 * The series colours, in order: the Okabe–Ito palette (Okabe & Ito 2008),
 * distinguishable with colour-blindness, without its yellow, which vanishes on
 * white paper. Lines also change dash pattern and marker shape with the index,
 * so series stay apart in grey-scale print.
 */
export const PALETTE: readonly string[] = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

const DASHES = ['', '7 3', '2 3', '9 3 2 3', '4 2 1 2 1 2'];
const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'down'] as const;

// ---------------------------------------------------------------- ticks

/** 1, 2, 5 or 10 × 10^k: the nice number at or above x > 0. The slack absorbs rounding (0.2 / 0.1 = 2.0000000000000004). */
function niceCeil(x: number): number {
  const e = Math.floor(Math.log10(x));
  const base = decade(e);
  const f = x / base;
  const slack = 1 + 1e-9;
  if (f <= 1 * slack) return base;
  if (f <= 2 * slack) return literal(2, e);
  if (f <= 5 * slack) return literal(5, e); // 5 * 1e24 is 4.999999999999999e24
  return decade(e + 1);
}

/** 10^k written from its decimal literal, so 1e-5 is exactly the double `1e-5` (10 ** -5 may differ in the last bit). */
function decade(k: number): number {
  return Number(`1e${k}`);
}

/** m × 10^k written from its decimal literal (2e-5 exactly as the double `2e-5`). */
function literal(m: number, k: number): number {
  return Number(`${m}e${k}`);
}

/**
 * Rounds away float noise from i·step (0.30000000000000004 → 0.3) at the
 * step's own decimal digit, and turns −0 into 0. Significant digits rather
 * than decimals, so that it works at any magnitude (toFixed stops at 100
 * decimals, which rounded 1e-120 to 0).
 */
function onStep(v: number, step: number): number {
  if (v === 0) return 0;
  const digits = Math.floor(Math.log10(Math.abs(v)) + 1e-9) - Math.floor(Math.log10(step) + 1e-9);
  const r = Number(v.toExponential(Math.min(100, Math.max(0, digits))));
  return r === 0 ? 0 : r;
}

/**
 * The narrowest span a linear axis shows. Narrower ranges are widened to it
 * around their centre: their tick steps would be subnormal doubles, with too
 * few bits to space ticks (and [0, 5e-324] has no representable midpoint).
 */
const MIN_LINEAR_SPAN = 1e-300;

function checkRange(name: string, min: number, max: number): void {
  if (typeof min !== 'number' || typeof max !== 'number') throw new TypeError(`${name}: min and max must be numbers, got ${typeof min} and ${typeof max}`);
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new RangeError(`${name}: needs finite min <= max, got [${min}, ${max}]; drop non-finite values first`);
  }
}

/**
 * Nice ticks for a linear axis covering [min, max]: a step of 1, 2 or 5 × 10^k
 * giving about `count` ticks, and the domain widened to whole steps. A
 * degenerate range (min = max) is widened around the value first.
 * Example: linearTicks(0, 1) → domain [0, 1], major 0, 0.2, 0.4, 0.6, 0.8, 1.
 */
export function linearTicks(min: number, max: number, count = 6): Ticks & { step: number } {
  checkRange('linearTicks', min, max);
  if (!Number.isInteger(count) || count < 2) throw new RangeError(`linearTicks: count must be an integer >= 2, got ${count}`);
  if (min === max) {
    const pad = min === 0 ? 1 : Math.max(Math.abs(min) * 0.1, MIN_LINEAR_SPAN);
    min = Math.max(min - pad, -Number.MAX_VALUE);
    max = Math.min(max + pad, Number.MAX_VALUE);
  } else if (max - min < MIN_LINEAR_SPAN) {
    const centre = min + (max - min) / 2;
    min = centre - MIN_LINEAR_SPAN / 2;
    max = centre + MIN_LINEAR_SPAN / 2;
  }
  // max − min overflows when the range is wider than the largest double: divide first there.
  const span = max - min;
  const step = niceCeil(Number.isFinite(span) ? span / (count - 1) : max / (count - 1) - min / (count - 1));
  // The 1e-9 keeps a bound that is a whole step (up to rounding) from gaining one more step.
  const lo = Math.floor(min / step + 1e-9);
  const hi = Math.ceil(max / step - 1e-9);
  const major: number[] = [];
  for (let i = lo; i <= hi; i++) {
    const v = onStep(i * step, step);
    if (Number.isFinite(v)) major.push(v);
  }
  // A whole step beyond the largest double overflows: the domain then ends at ±MAX_VALUE, which is no tick.
  const d0 = Number.isFinite(lo * step) ? major[0] : -Number.MAX_VALUE;
  const d1 = Number.isFinite(hi * step) ? major[major.length - 1] : Number.MAX_VALUE;
  return { domain: [d0, d1], major, minor: [], step };
}

/**
 * Ticks for a log₁₀ axis covering [min, max] (0 < min ≤ max): the domain is
 * widened to whole decades and the major ticks are decades; with many
 * decades, only those 10^k with k a multiple of d (d from 1, 2, 3, 5, 10, 20,
 * …), the smallest d giving at most `count`. Minor ticks are 2…9 × 10^k (or
 * the skipped decades). Over at most two decades the domain ends on 1, 2 or
 * 5 × 10^k and those are the major ticks.
 * Example: logTicks(1e-5, 1) → major 1e-5, 1e-4, …, 1.
 */
export function logTicks(min: number, max: number, count = 8): Ticks {
  checkRange('logTicks', min, max);
  if (min <= 0) throw new RangeError(`logTicks: a log axis needs min > 0, got [${min}, ${max}]; drop values <= 0 or use a linear scale`);
  if (!Number.isInteger(count) || count < 2) throw new RangeError(`logTicks: count must be an integer >= 2, got ${count}`);
  // Exact decade exponents: compare with the decimal literal, since log10 may round.
  let kLo = Math.floor(Math.log10(min));
  if (decade(kLo) > min) kLo--;
  if (decade(kLo + 1) <= min) kLo++;
  let kHi = Math.ceil(Math.log10(max));
  if (decade(kHi) < max) kHi++;
  if (decade(kHi - 1) >= max) kHi--;
  // 1e-324 is 0 and 1e309 is Infinity: past the doubles' decades the domain ends on the data instead.
  kLo = Math.max(kLo, MIN_DECADE);
  kHi = Math.min(kHi, MAX_DECADE);
  if (kHi - kLo <= 2) return fewDecades(min, max, kLo, kHi, count);
  // every = 1, 2, 3, 5, 10, 20, 30, 50, 100, …
  let every = 1;
  for (let i = 1; majorCount(kLo, kHi, every) > count; i++) every = [1, 2, 3, 5][i % 4] * 10 ** Math.floor(i / 4);
  const major: number[] = [];
  const minor: number[] = [];
  for (let k = kLo; k <= kHi; k++) {
    if (mod(k, every) === 0) major.push(decade(k));
    else minor.push(decade(k));
    if (every === 1 && k < kHi) for (let m = 2; m <= 9; m++) minor.push(literal(m, k));
  }
  return { domain: [Math.min(decade(kLo), min), Math.max(decade(kHi), max)], major, minor };
}

/** The first and last decades that are positive, finite doubles: 1e-323 (subnormal) and 1e308. */
const MIN_DECADE = -323;
const MAX_DECADE = 308;

function mod(k: number, d: number): number {
  return ((k % d) + d) % d;
}

/** How many multiples of d lie in [kLo, kHi]. */
function majorCount(kLo: number, kHi: number, d: number): number {
  return Math.floor(kHi / d) - Math.ceil(kLo / d) + 1;
}

/**
 * Log ticks when the data span at most two decades, [10^kLo, 10^kHi]: the
 * domain ends on the 1-2-5 values around the data (strictly around a single
 * value), those values inside are the major ticks (only decades and the
 * ends if there would be more than `count`), and m × 10^k the minor.
 */
function fewDecades(min: number, max: number, kLo: number, kHi: number, count: number): Ticks {
  const nice: number[] = [];
  const all: number[] = [];
  for (let k = kLo - 1; k <= kHi; k++) {
    for (const m of [1, 2, 5]) nice.push(literal(m, k));
    for (let m = 1; m <= 9; m++) all.push(literal(m, k));
  }
  nice.push(decade(kHi + 1));
  // Near the ends of the doubles some of these are 0 or Infinity; without a nice value there, the domain ends on the data.
  const drawable = nice.filter((v) => v > 0 && v < Infinity);
  const single = min === max;
  const lo = drawable.filter((v) => (single ? v < min : v <= min)).pop() ?? min;
  const hi = drawable.find((v) => (single ? v > max : v >= max)) ?? max;
  let major = drawable.filter((v) => v >= lo && v <= hi);
  // Too many for the axis: keep the decades and the ends.
  if (major.length > count) major = major.filter((v) => v === lo || v === hi || Number.isInteger(Math.log10(v)));
  const minor = all.filter((v) => v > lo && v < hi && v < Infinity && !major.includes(v));
  return { domain: [lo, hi], major, minor };
}

// ---------------------------------------------------------------- tick labels

/** Drops trailing zeros of a mantissa and the '+' of an exponent: "2.500e+3" → "2.5e3". */
function tidyExponential(s: string): string {
  const [mantissa, exponent] = s.split('e');
  const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  return exponent === undefined ? m : `${m}e${Number(exponent)}`;
}

/**
 * A compact tick label. With `step` (a linear axis) the label shows as many
 * decimals as the step needs: 0.2 → "0.2", 1 → "1". Large or tiny values use
 * exponent form without '+': 1e-3, 2.5e6. Without `step` (a log axis), 0.01 …
 * 9999 are written plainly and the rest as 1e-3, 2e5.
 */
export function formatTick(v: number, step?: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (step === undefined) {
    if (v === 0) return '0';
    // Twelve significant digits drop float noise such as 0.30000000000000004.
    const short = Number(v.toPrecision(12));
    if (a >= 0.01 && a < 1e4) return String(short);
    return tidyExponential(short.toExponential());
  }
  if (v === 0) return (0).toFixed(Math.min(Math.max(0, -Math.floor(Math.log10(Math.abs(step)) + 1e-9)), 20));
  const stepExp = Math.floor(Math.log10(Math.abs(step)) + 1e-9);
  if (a >= 1e6 || a < 1e-3) {
    const digits = Math.max(0, Math.floor(Math.log10(a) + 1e-9) - stepExp);
    return tidyExponential(v.toExponential(Math.min(digits, 20)));
  }
  return v.toFixed(Math.min(Math.max(0, -stepExp), 20));
}

function tickLabels(kind: ScaleKind, ticks: Ticks & { step?: number }): string[] {
  return ticks.major.map((v) => (kind === 'log' ? formatTick(v) : formatTick(v, ticks.step)));
}

// ---------------------------------------------------------------- text and numbers

/** Escapes text for XML content and attributes; drops characters XML 1.0 forbids and replaces lone surrogates with U+FFFD. */
export function escapeXml(text: string): string {
  return String(text)
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A pixel coordinate with two decimals: enough for any screen, and short. */
function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

const FONT = 12;
const SMALL = 10.5;
const TITLE = 15;
/** Approximate text width: DejaVu Sans averages ~0.55 em per character; 0.6 leaves room. */
function textWidth(s: string, size = FONT): number {
  return s.length * size * 0.6;
}

function truncate(s: string, maxWidth: number, size = FONT): string {
  if (textWidth(s, size) <= maxWidth + 0.5) return s;
  const maxChars = Math.max(4, Math.floor(maxWidth / (size * 0.6)));
  return `${s.slice(0, maxChars - 1)}…`;
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(s)}</text>`;
}

// ---------------------------------------------------------------- scales

interface Scale {
  kind: ScaleKind;
  domain: [number, number];
  range: [number, number];
  map(v: number): number;
  /** Whether v can be drawn on this axis at all: finite, and positive on a log axis. */
  valid(v: number): boolean;
}

function makeScale(kind: ScaleKind, domain: [number, number], range: [number, number]): Scale {
  // A linear axis works in halves of the values, so that neither v − d₀ nor d₁ − d₀ overflows on a
  // domain reaching ±MAX_VALUE. Halving is exact for normal doubles (a subnormal moves by at most
  // 2.5e-324, nothing beside MIN_LINEAR_SPAN), so elsewhere a pixel moves by an ulp at most.
  const t = kind === 'log' ? Math.log10 : (v: number) => v / 2;
  const t0 = t(domain[0]);
  const t1 = t(domain[1]);
  const span = t1 - t0 || 1;
  // A value astronomically far outside a fixed domain would land past ±Infinity pixels: hold it at 1e12 plot widths (clipped anyway).
  const far = 1e12;
  return {
    kind,
    domain,
    range,
    map: (v) => range[0] + (range[1] - range[0]) * Math.min(far, Math.max(-far, (t(v) - t0) / span)),
    valid: (v) => Number.isFinite(v) && (kind === 'linear' || v > 0),
  };
}

/** Ticks for an axis over some data values (already filtered to drawable ones), or over a fixed domain. */
function axisTicks(kind: ScaleKind, values: number[], fixed: [number, number] | undefined, count: number, owner: string): Ticks & { step?: number } {
  if (fixed !== undefined) {
    const [d0, d1] = fixed;
    if (!Number.isFinite(d0) || !Number.isFinite(d1) || !(d0 < d1) || (kind === 'log' && d0 <= 0)) {
      throw new RangeError(`${owner}: a domain needs finite d0 < d1${kind === 'log' ? ' and d0 > 0 on a log axis' : ''}, got [${d0}, ${d1}]`);
    }
    if (kind === 'linear' && !(d1 - d0 >= MIN_LINEAR_SPAN)) {
      throw new RangeError(`${owner}: a linear domain must span at least ${MIN_LINEAR_SPAN}, got [${d0}, ${d1}]; leave the domain out to fit the data`);
    }
    const all = kind === 'log' ? logTicks(d0, d1, count) : linearTicks(d0, d1, count);
    const inside = (v: number) => v >= d0 * (1 - 1e-12) - 1e-300 && v <= d1 * (1 + 1e-12) + 1e-300;
    const inRange = (v: number) => (kind === 'log' ? inside(v) : v >= d0 - 1e-9 * (d1 - d0) && v <= d1 + 1e-9 * (d1 - d0));
    return { ...all, domain: [d0, d1], major: all.major.filter(inRange), minor: all.minor.filter(inRange) };
  }
  if (values.length === 0) return kind === 'log' ? logTicks(1, 10, count) : linearTicks(0, 1, count);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return kind === 'log' ? logTicks(lo, hi, count) : linearTicks(lo, hi, count);
}

// ---------------------------------------------------------------- validation

function checkScale(owner: string, what: string, kind: unknown): ScaleKind {
  if (kind === undefined) return 'linear';
  if (kind !== 'linear' && kind !== 'log') throw new TypeError(`${owner}: ${what} must be 'linear' or 'log', got ${JSON.stringify(kind)}`);
  return kind;
}

function checkNumbers(owner: string, what: string, a: unknown, length?: number): ArrayLike<number> {
  if (a === null || typeof a !== 'object' || typeof (a as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${owner}: ${what} must be an array of numbers, got ${a === null ? 'null' : typeof a}`);
  }
  const arr = a as ArrayLike<number>;
  for (let i = 0; i < arr.length; i++) {
    if (typeof arr[i] !== 'number') throw new TypeError(`${owner}: ${what}[${i}] must be a number, got ${typeof arr[i]}; use NaN for a missing value`);
  }
  if (length !== undefined && arr.length !== length) {
    throw new RangeError(`${owner}: ${what} has ${arr.length} values but ${length} were expected; give one per point`);
  }
  return arr;
}

/** A series' colour (default: PALETTE's i-th), escaped once here for the attributes it goes into. */
function seriesColor(owner: string, label: string, color: unknown, i: number): string {
  if (color === undefined) return PALETTE[i % PALETTE.length];
  if (typeof color !== 'string') throw new TypeError(`${owner}: ${label} color must be a CSS colour string, got ${typeof color}`);
  return escapeXml(color);
}

function checkSize(owner: string, width: unknown, height: unknown, defaultHeight: number): [number, number] {
  const w = width ?? 640;
  const h = height ?? defaultHeight;
  for (const [name, v] of [['width', w], ['height', h]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 160) throw new RangeError(`${owner}: ${name} must be a number >= 160 pixels, got ${String(v)}`);
  }
  return [w as number, h as number];
}

function checkReferences(owner: string, refs: unknown): ReferenceLine[] {
  if (refs === undefined) return [];
  if (!Array.isArray(refs)) throw new TypeError(`${owner}: reference must be an array of { value, label? }, got ${typeof refs}`);
  for (const r of refs) {
    if (r === null || typeof r !== 'object' || typeof r.value !== 'number') throw new TypeError(`${owner}: each reference needs a numeric value, got ${JSON.stringify(r)}`);
  }
  return refs as ReferenceLine[];
}

// ---------------------------------------------------------------- drawing pieces

interface Plot {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

interface LegendEntry {
  name: string;
  color: string;
  dash: string;
  line: boolean;
  marker?: (typeof MARKERS)[number];
  band: boolean;
  bar: boolean;
}

function marker(shape: (typeof MARKERS)[number], x: number, y: number, color: string, r = 3.5): string {
  const fill = `fill="${color}" stroke="#fff" stroke-width="0.8"`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${px(x)}" cy="${px(y)}" r="${px(r)}" ${fill}/>`;
    case 'square':
      return `<rect x="${px(x - r * 0.9)}" y="${px(y - r * 0.9)}" width="${px(r * 1.8)}" height="${px(r * 1.8)}" ${fill}/>`;
    case 'triangle':
      return `<path d="M${px(x)},${px(y - r * 1.2)}L${px(x + r * 1.1)},${px(y + r * 0.8)}L${px(x - r * 1.1)},${px(y + r * 0.8)}Z" ${fill}/>`;
    case 'diamond':
      return `<path d="M${px(x)},${px(y - r * 1.3)}L${px(x + r * 1.1)},${px(y)}L${px(x)},${px(y + r * 1.3)}L${px(x - r * 1.1)},${px(y)}Z" ${fill}/>`;
    case 'down':
      return `<path d="M${px(x)},${px(y + r * 1.2)}L${px(x + r * 1.1)},${px(y - r * 0.8)}L${px(x - r * 1.1)},${px(y - r * 0.8)}Z" ${fill}/>`;
  }
}

/** Grid lines, tick marks and labels of one axis. 'bottom' is the x axis, 'left' the y axis. */
function drawAxis(side: 'bottom' | 'left', scale: Scale, ticks: Ticks, labels: string[], plot: Plot, minor: boolean): string[] {
  const out: string[] = [];
  const horizontal = side === 'bottom';
  const seg = (v: number, from: number, to: number, cls: string, stroke: string) => {
    const p = px(scale.map(v));
    return horizontal
      ? `<line class="${cls}" data-value="${v}" x1="${p}" x2="${p}" y1="${px(from)}" y2="${px(to)}" stroke="${stroke}"/>`
      : `<line class="${cls}" data-value="${v}" y1="${p}" y2="${p}" x1="${px(from)}" x2="${px(to)}" stroke="${stroke}"/>`;
  };
  const edge = horizontal ? plot.bottom : plot.left;
  const outward = horizontal ? 1 : -1;
  out.push(`<g class="grid" stroke-width="1">`);
  for (const v of ticks.major) out.push(horizontal ? seg(v, plot.top, plot.bottom, 'gridline', '#e3e3e3') : seg(v, plot.left, plot.right, 'gridline', '#e3e3e3'));
  out.push('</g>');
  out.push(`<g class="axis axis-${horizontal ? 'x' : 'y'}" stroke-width="1">`);
  for (const v of ticks.major) out.push(seg(v, edge, edge + outward * 5, 'tick major', '#333'));
  if (minor) for (const v of ticks.minor) out.push(seg(v, edge, edge + outward * 3, 'tick minor', '#666'));
  ticks.major.forEach((v, i) => {
    const p = scale.map(v);
    out.push(horizontal
      ? text(p, plot.bottom + 8 + FONT * 0.8, labels[i], 'class="ticklabel" text-anchor="middle"')
      : text(plot.left - 8, p + FONT * 0.35, labels[i], 'class="ticklabel" text-anchor="end"'));
  });
  out.push('</g>');
  return out;
}

function drawLegend(entries: LegendEntry[], x: number, y: number, maxWidth: number): string[] {
  const out = ['<g class="legend">'];
  entries.forEach((e, i) => {
    const cy = y + i * 18 + 6;
    out.push('<g class="legend-entry">');
    if (e.band) out.push(`<rect x="${px(x)}" y="${px(cy - 6)}" width="24" height="12" fill="${e.color}" fill-opacity="0.18"/>`);
    if (e.bar) out.push(`<rect x="${px(x + 3)}" y="${px(cy - 5)}" width="18" height="10" fill="${e.color}"/>`);
    if (e.line) out.push(`<line x1="${px(x)}" x2="${px(x + 24)}" y1="${px(cy)}" y2="${px(cy)}" stroke="${e.color}" stroke-width="2"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`);
    if (e.marker) out.push(marker(e.marker, x + 12, cy, e.color));
    out.push(text(x + 30, cy + FONT * 0.35, truncate(e.name, maxWidth - 30)));
    out.push('</g>');
  });
  out.push('</g>');
  return out;
}

function legendWidth(entries: LegendEntry[], width: number): number {
  if (entries.length === 0) return 0;
  const widest = Math.max(...entries.map((e) => textWidth(e.name)));
  return Math.min(widest + 30, width * 0.38);
}

function referenceLines(refs: ReferenceLine[], axis: 'x' | 'y', scale: Scale, plot: Plot): string[] {
  const out: string[] = [];
  for (const r of refs) {
    if ((r.axis ?? 'y') !== axis || !scale.valid(r.value)) continue;
    const p = scale.map(r.value);
    const attrs = `class="reference" stroke="#444" stroke-width="1.2" stroke-dasharray="5 4"`;
    if (axis === 'y') {
      out.push(`<line ${attrs} x1="${px(plot.left)}" x2="${px(plot.right)}" y1="${px(p)}" y2="${px(p)}"/>`);
      if (r.label) out.push(text(plot.right - 4, p - 4, r.label, `font-size="${SMALL}" fill="#444" text-anchor="end"`));
    } else {
      out.push(`<line ${attrs} y1="${px(plot.top)}" y2="${px(plot.bottom)}" x1="${px(p)}" x2="${px(p)}"/>`);
      if (r.label) out.push(text(p + 4, plot.top + SMALL + 2, r.label, `font-size="${SMALL}" fill="#444"`));
    }
  }
  return out;
}

/**
 * Two clip paths: the plot area for lines, bands and bars, and the plot area
 * grown by a marker's size, so a marker on the edge of the domain shows whole.
 */
function clipPaths(plot: Plot): string {
  const rect = (grow: number) => `<rect x="${px(plot.left - grow)}" y="${px(plot.top - grow)}" width="${px(plot.right - plot.left + 2 * grow)}" height="${px(plot.bottom - plot.top + 2 * grow)}"/>`;
  return `<clipPath id="__CLIP__">${rect(0)}</clipPath>\n<clipPath id="__CLIP__-m">${rect(6)}</clipPath>`;
}

/** A 32-bit FNV-1a hash of the text, for a clip-path id that differs between charts on one page. */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

/** Wraps the body in the <svg> element with a white background, and gives its clip path a unique id. */
function svgDocument(width: number, height: number, title: string | undefined, body: string[]): string {
  const inner = body.filter((line) => line !== '').join('\n');
  const id = `mcgrad-clip-${hash(`${width}x${height}\n${inner}`)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="${FONT}" fill="#222">`,
    title ? `<title>${escapeXml(title)}</title>` : '',
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    inner.replaceAll('__CLIP__', id),
    '</svg>',
  ].filter((s) => s !== '').join('\n');
}

function titleText(title: string | undefined, width: number, plot: Plot): string[] {
  if (!title) return [];
  const centre = (plot.left + plot.right) / 2;
  const fits = textWidth(title, TITLE) / 2 < Math.min(centre, width - centre);
  return [text(fits ? centre : width / 2, 22, truncate(title, width - 16, TITLE), `class="title" text-anchor="middle" font-size="${TITLE}" font-weight="bold"`)];
}

/** Picks the largest tick count whose labels do not overlap along a horizontal axis of `length` pixels. */
function fitTicks(kind: ScaleKind, make: (count: number) => Ticks & { step?: number }, length: number): Ticks & { step?: number } {
  for (let count = Math.max(2, Math.min(10, Math.round(length / 70))); count > 2; count--) {
    const t = make(count);
    const labels = tickLabels(kind, t);
    const widest = Math.max(...labels.map((s) => textWidth(s)));
    const spacing = length / Math.max(1, t.major.length - 1);
    if (widest + 10 <= spacing) return t;
  }
  return make(2);
}

// ---------------------------------------------------------------- line chart

/**
 * A line chart: each series as a polyline (and/or markers) with an optional
 * shaded band between `lower` and `upper`, on linear or log₁₀ axes, with a
 * legend to the right, reference lines, and a title. Returns an SVG string.
 *
 *   lineChart({ title: 'log-variance', xLabel: 'step', yLabel: 'variance', yScale: 'log',
 *     series: [{ name: 'RELAX', x: steps, y: variances, lower: lo, upper: hi }] })
 *
 * Non-finite points (and values ≤ 0 on a log axis) are skipped; see the file header.
 */
export function lineChart(options: LineChartOptions): string {
  const owner = 'lineChart';
  if (options === null || typeof options !== 'object') throw new TypeError(`${owner}: expects an options object, got ${options === null ? 'null' : typeof options}`);
  if (!Array.isArray(options.series)) throw new TypeError(`${owner}: series must be an array of { name, x, y }, got ${typeof options.series}`);
  const xKind = checkScale(owner, 'xScale', options.xScale);
  const yKind = checkScale(owner, 'yScale', options.yScale);
  const [width, height] = checkSize(owner, options.width, options.height, 400);
  const refs = checkReferences(owner, options.reference);
  const minorTicks = options.minorTicks ?? true;

  const series = options.series.map((s, i) => {
    if (s === null || typeof s !== 'object') throw new TypeError(`${owner}: series[${i}] must be an object { name, x, y }, got ${s === null ? 'null' : typeof s}`);
    const label = `series '${s.name}'`;
    const x = checkNumbers(owner, `${label} x`, s.x);
    const y = checkNumbers(owner, `${label} y`, s.y, x.length);
    const lower = s.lower === undefined ? undefined : checkNumbers(owner, `${label} lower`, s.lower, x.length);
    const upper = s.upper === undefined ? undefined : checkNumbers(owner, `${label} upper`, s.upper, x.length);
    if ((lower === undefined) !== (upper === undefined)) throw new TypeError(`${owner}: ${label} has only one of lower and upper; give both for a band`);
    const style = s.style ?? 'line';
    if (style !== 'line' && style !== 'points' && style !== 'line+points') throw new TypeError(`${owner}: ${label} style must be 'line', 'points' or 'line+points', got ${JSON.stringify(style)}`);
    return { name: String(s.name ?? ''), x, y, lower, upper, style, color: seriesColor(owner, label, s.color, i), index: i };
  });

  // Domains: every drawable value, plus reference lines.
  const okX = (v: number) => Number.isFinite(v) && (xKind === 'linear' || v > 0);
  const okY = (v: number) => Number.isFinite(v) && (yKind === 'linear' || v > 0);
  const xs: number[] = [];
  const ys: number[] = [];
  const skipped: number[] = series.map(() => 0);
  series.forEach((s, si) => {
    for (let i = 0; i < s.x.length; i++) {
      if (!okX(s.x[i])) {
        if (Number.isFinite(s.x[i])) skipped[si]++;
        continue;
      }
      const yi = s.y[i];
      if (okY(yi)) {
        xs.push(s.x[i]);
        ys.push(yi);
      } else if (Number.isFinite(yi)) skipped[si]++;
      if (s.lower && s.upper && okY(s.upper[i]) && !Number.isNaN(s.lower[i]) && s.lower[i] !== Infinity) {
        xs.push(s.x[i]);
        ys.push(s.upper[i]);
        if (okY(s.lower[i])) ys.push(s.lower[i]);
      }
    }
  });
  const hasData = xs.length > 0;
  for (const r of refs) {
    if ((r.axis ?? 'y') === 'y' && okY(r.value) && hasData) ys.push(r.value);
    if (r.axis === 'x' && okX(r.value) && hasData) xs.push(r.value);
  }

  // Layout: y ticks first (they set the left margin), then x ticks for the width left.
  const entries: LegendEntry[] = series.map((s, i) => ({
    name: skipped[i] > 0 ? `${s.name} (${skipped[i]} value${skipped[i] === 1 ? '' : 's'} ≤ 0 not shown)` : s.name,
    color: s.color,
    dash: DASHES[s.index % DASHES.length],
    line: s.style !== 'points',
    marker: s.style !== 'line' ? MARKERS[s.index % MARKERS.length] : undefined,
    band: s.lower !== undefined,
    bar: false,
  }));
  const showLegend = options.legend ?? (series.length > 1 || skipped.some((k) => k > 0));
  const legendW = showLegend ? legendWidth(entries, width) : 0;
  const top = options.title ? 38 : 14;
  const bottom = height - (8 + FONT + 10 + (options.xLabel ? FONT + 12 : 0));
  const yTicks = axisTicks(yKind, ys, options.yDomain, Math.max(3, Math.min(10, Math.round((bottom - top) / 50))), owner);
  const yLabels = tickLabels(yKind, yTicks);
  const left = (options.yLabel ? FONT + 14 : 6) + Math.max(...yLabels.map((s) => textWidth(s))) + 12;
  const right = width - (showLegend ? legendW + 22 : 18);
  const xTicks = fitTicks(xKind, (count) => axisTicks(xKind, xs, options.xDomain, count, owner), right - left);
  const xLabels = tickLabels(xKind, xTicks);
  const plot: Plot = { left, top, right, bottom };
  const xScale = makeScale(xKind, xTicks.domain, [left, right]);
  const yScale = makeScale(yKind, yTicks.domain, [bottom, top]);

  const body: string[] = [];
  body.push(clipPaths(plot));
  body.push(...drawAxis('left', yScale, yTicks, yLabels, plot, minorTicks));
  body.push(...drawAxis('bottom', xScale, xTicks, xLabels, plot, minorTicks));
  body.push(`<g class="references" clip-path="url(#__CLIP__)">`, ...referenceLines(refs, 'y', yScale, plot), ...referenceLines(refs, 'x', xScale, plot), '</g>');

  body.push('<g class="data">', '<g class="lines" clip-path="url(#__CLIP__)">');
  for (const s of series) {
    if (s.lower && s.upper) body.push(...band(s.x, s.lower, s.upper, xScale, yScale, s.color));
  }
  const markerGroups: string[] = [];
  for (const s of series) {
    const dash = DASHES[s.index % DASHES.length];
    const shape = MARKERS[s.index % MARKERS.length];
    const runs = validRuns(s.x.length, (i) => okX(s.x[i]) && okY(s.y[i]));
    if (s.style !== 'points') {
      const d = runs.filter((r) => r.length > 1).map((r) => r.map((i, j) => `${j === 0 ? 'M' : 'L'}${px(xScale.map(s.x[i]))},${px(yScale.map(s.y[i]))}`).join('')).join('');
      body.push(`<path class="series" data-name="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    }
    // Markers: every point for 'points', and points with no neighbour on a line, which a path would not show.
    const shown = s.style === 'line' ? runs.filter((r) => r.length === 1).flat() : runs.flat();
    if (shown.length > 0) {
      markerGroups.push(`<g class="points" data-name="${escapeXml(s.name)}" clip-path="url(#__CLIP__-m)">`);
      for (const i of shown) markerGroups.push(marker(shape, xScale.map(s.x[i]), yScale.map(s.y[i]), s.color));
      markerGroups.push('</g>');
    }
  }
  body.push('</g>', ...markerGroups, '</g>');
  if (!hasData) body.push(text((left + right) / 2, (top + bottom) / 2, 'no data', 'class="nodata" text-anchor="middle" fill="#888"'));
  body.push(`<rect class="frame" x="${px(left)}" y="${px(top)}" width="${px(right - left)}" height="${px(bottom - top)}" fill="none" stroke="#333"/>`);
  if (options.xLabel) body.push(text((left + right) / 2, height - 10, options.xLabel, 'class="axislabel" text-anchor="middle"'));
  if (options.yLabel) body.push(text(0, 0, options.yLabel, `class="axislabel" text-anchor="middle" transform="translate(${FONT + 2},${px((top + bottom) / 2)}) rotate(-90)"`));
  if (showLegend) body.push(...drawLegend(entries, right + 16, top, legendW));
  body.push(...titleText(options.title, width, plot));
  return svgDocument(width, height, options.title, body);
}

/** Maximal runs of consecutive indices where ok(i) holds. */
function validRuns(n: number, ok: (i: number) => boolean): number[][] {
  const runs: number[][] = [];
  let run: number[] = [];
  for (let i = 0; i < n; i++) {
    if (ok(i)) run.push(i);
    else if (run.length > 0) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** A shaded band between lower and upper: one polygon per run of drawable points, a whisker for a lone point. */
function band(x: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>, xs: Scale, ys: Scale, color: string): string[] {
  // A lower end ≤ 0 on a log axis is drawn at the axis' bottom edge: the interval reaches below it.
  const low = (i: number) => (ys.valid(lower[i]) ? ys.map(lower[i]) : ys.range[0]);
  const ok = (i: number) => xs.valid(x[i]) && ys.valid(upper[i]) && !Number.isNaN(lower[i]) && lower[i] !== Infinity;
  const out: string[] = [];
  for (const run of validRuns(x.length, ok)) {
    if (run.length === 1) {
      const i = run[0];
      out.push(`<line class="band" x1="${px(xs.map(x[i]))}" x2="${px(xs.map(x[i]))}" y1="${px(low(i))}" y2="${px(ys.map(upper[i]))}" stroke="${color}" stroke-opacity="0.5" stroke-width="3"/>`);
      continue;
    }
    const top = run.map((i) => `${px(xs.map(x[i]))},${px(ys.map(upper[i]))}`);
    const bottom = run.slice().reverse().map((i) => `${px(xs.map(x[i]))},${px(low(i))}`);
    out.push(`<polygon class="band" points="${top.concat(bottom).join(' ')}" fill="${color}" fill-opacity="0.18" stroke="none"/>`);
  }
  return out;
}

// ---------------------------------------------------------------- bar chart

/**
 * A bar chart (or dot chart, `style: 'dot'`) with one value per category and
 * optional error bars from `lower` to `upper`; several series make grouped
 * bars. Horizontal by default, so long category names (estimator names) read
 * down the left side. On a linear axis bars grow from 0; on a log axis from
 * the bottom edge of the axis. Returns an SVG string.
 *
 *   barChart({ title: 'variance per estimator', categories: ['REINFORCE', 'RELAX'],
 *     values: [2.1e-2, 3.4e-5], lower: [1.9e-2, 3.0e-5], upper: [2.3e-2, 3.9e-5], scale: 'log' })
 *
 * A value that cannot be drawn (NaN, ±Infinity, ≤ 0 on a log axis) leaves an
 * empty slot marked "n/a" or "≤ 0".
 */
export function barChart(options: BarChartOptions): string {
  const owner = 'barChart';
  if (options === null || typeof options !== 'object') throw new TypeError(`${owner}: expects an options object, got ${options === null ? 'null' : typeof options}`);
  if (!Array.isArray(options.categories)) throw new TypeError(`${owner}: categories must be an array of strings, got ${typeof options.categories}`);
  const categories = options.categories.map(String);
  const n = categories.length;
  const kind = checkScale(owner, 'scale', options.scale);
  const orientation = options.orientation ?? 'horizontal';
  if (orientation !== 'horizontal' && orientation !== 'vertical') throw new TypeError(`${owner}: orientation must be 'horizontal' or 'vertical', got ${JSON.stringify(orientation)}`);
  const style = options.style ?? 'bar';
  if (style !== 'bar' && style !== 'dot') throw new TypeError(`${owner}: style must be 'bar' or 'dot', got ${JSON.stringify(style)}`);
  if (options.series !== undefined && options.values !== undefined) throw new TypeError(`${owner}: give either values (one series) or series (grouped), not both`);
  const given: BarSeries[] = options.series ?? [{ name: options.valueLabel ?? '', values: options.values ?? [], lower: options.lower, upper: options.upper }];
  if (!Array.isArray(given)) throw new TypeError(`${owner}: series must be an array of { name, values }, got ${typeof given}`);
  const series = given.map((s, i) => {
    const label = options.series ? `series '${s.name}'` : 'values';
    const values = checkNumbers(owner, label === 'values' ? 'values' : `${label} values`, s.values, n);
    const lower = s.lower === undefined ? undefined : checkNumbers(owner, options.series ? `${label} lower` : 'lower', s.lower, n);
    const upper = s.upper === undefined ? undefined : checkNumbers(owner, options.series ? `${label} upper` : 'upper', s.upper, n);
    if ((lower === undefined) !== (upper === undefined)) throw new TypeError(`${owner}: ${label} has only one of lower and upper; give both for error bars`);
    return { name: String(s.name ?? ''), values, lower, upper, color: seriesColor(owner, label, s.color, i), index: i };
  });
  const m = Math.max(1, series.length);
  const refs = checkReferences(owner, options.reference);
  const minorTicks = options.minorTicks ?? true;
  const horizontal = orientation === 'horizontal';
  const defaultHeight = horizontal ? Math.max(200, (options.title ? 38 : 14) + Math.max(1, n) * Math.max(28, m * 16 + 12) + 56) : 400;
  const [width, height] = checkSize(owner, options.width, options.height, defaultHeight);

  const ok = (v: number) => Number.isFinite(v) && (kind === 'linear' || v > 0);
  const vals: number[] = [];
  for (const s of series) {
    for (let i = 0; i < n; i++) {
      if (ok(s.values[i])) vals.push(s.values[i]);
      if (s.lower && s.upper) {
        if (ok(s.lower[i])) vals.push(s.lower[i]);
        if (ok(s.upper[i])) vals.push(s.upper[i]);
      }
    }
  }
  const hasData = vals.length > 0;
  if (hasData) for (const r of refs) if (ok(r.value)) vals.push(r.value);
  if (kind === 'linear' && hasData && style === 'bar') vals.push(0); // bars start at 0, so 0 is on the axis

  const entries: LegendEntry[] = series.map((s) => ({ name: s.name, color: s.color, dash: '', line: false, band: false, bar: style === 'bar', marker: style === 'dot' ? MARKERS[s.index % MARKERS.length] : undefined }));
  const showLegend = options.legend ?? series.length > 1;
  const legendW = showLegend ? legendWidth(entries, width) : 0;
  const top = options.title ? 38 : 14;
  const valueLabelSpace = options.valueLabel ? FONT + 12 : 0;
  const catLabelSpace = options.categoryLabel ? FONT + 14 : 0;
  const right = width - (showLegend ? legendW + 22 : 18);

  let plot: Plot;
  let ticks: Ticks & { step?: number };
  let labels: string[];
  let valueScale: Scale;
  let catLabelRotate = false;
  if (horizontal) {
    const widest = Math.max(0, ...categories.map((c) => textWidth(c)));
    const left = catLabelSpace + Math.min(widest, width * 0.35) + 14;
    const bottom = height - (8 + FONT + 10 + valueLabelSpace);
    ticks = fitTicks(kind, (count) => axisTicks(kind, vals, options.domain, count, owner), right - left);
    labels = tickLabels(kind, ticks);
    plot = { left, top, right, bottom };
    valueScale = makeScale(kind, ticks.domain, [left, right]);
  } else {
    const bottomGuess = height - (8 + FONT + 10 + catLabelSpace);
    ticks = axisTicks(kind, vals, options.domain, Math.max(3, Math.min(10, Math.round((bottomGuess - top) / 50))), owner);
    labels = tickLabels(kind, ticks);
    const left = valueLabelSpace + 6 + Math.max(...labels.map((s) => textWidth(s))) + 12;
    const slot = (right - left) / Math.max(1, n);
    const widest = Math.max(0, ...categories.map((c) => textWidth(c)));
    catLabelRotate = widest + 6 > slot;
    // Rotated by 35°, a label of width w needs w·sin 35° ≈ 0.57 w below the axis.
    const catSpace = catLabelRotate ? Math.min(widest, height * 0.3) * 0.57 + FONT + 8 : FONT + 10;
    const bottom = height - (8 + catSpace + catLabelSpace);
    plot = { left, top, right, bottom };
    valueScale = makeScale(kind, ticks.domain, [bottom, top]);
  }

  // The category axis: slot i of n, group member j of m.
  const catStart = horizontal ? plot.top : plot.left;
  const catEnd = horizontal ? plot.bottom : plot.right;
  const slot = (catEnd - catStart) / Math.max(1, n);
  const thick = Math.min(slot * 0.72 / m, 40);
  const centre = (i: number, j: number) => catStart + slot * (i + 0.5) + (j - (m - 1) / 2) * thick;
  // A point (along the category axis c, along the value axis v) in pixels.
  const at = (c: number, v: number): [number, number] => (horizontal ? [v, c] : [c, v]);
  const base = kind === 'log' ? valueScale.range[0] : valueScale.map(Math.min(Math.max(0, ticks.domain[0]), ticks.domain[1]));

  /** The error bar of category i at category position c, or '' when its interval cannot be drawn. */
  const errorBar = (lower: ArrayLike<number> | undefined, upper: ArrayLike<number> | undefined, i: number, c: number): string => {
    if (!lower || !upper || !ok(upper[i]) || Number.isNaN(lower[i]) || lower[i] === Infinity) return '';
    // A lower end ≤ 0 on a log axis runs to the axis edge, without a cap there.
    const lowOk = ok(lower[i]);
    const lo = lowOk ? valueScale.map(lower[i]) : valueScale.range[0];
    const hi = valueScale.map(upper[i]);
    const cap = Math.min(5, thick / 3);
    const seg = (c0: number, v0: number, c1: number, v1: number) => {
      const [x1, y1] = at(c0, v0);
      const [x2, y2] = at(c1, v1);
      return `M${px(x1)},${px(y1)}L${px(x2)},${px(y2)}`;
    };
    const d = seg(c, lo, c, hi) + seg(c - cap, hi, c + cap, hi) + (lowOk ? seg(c - cap, lo, c + cap, lo) : '');
    return `<path class="errorbar" d="${d}" stroke="#222" stroke-width="1.3" fill="none"/>`;
  };

  const body: string[] = [];
  body.push(clipPaths(plot));
  body.push(...drawAxis(horizontal ? 'bottom' : 'left', valueScale, ticks, labels, plot, minorTicks));
  body.push('<g class="axis axis-category">');
  categories.forEach((c, i) => {
    const p = catStart + slot * (i + 0.5);
    if (horizontal) body.push(text(plot.left - 8, p + FONT * 0.35, truncate(c, plot.left - 14 - catLabelSpace), 'class="category" text-anchor="end"'));
    else if (catLabelRotate) body.push(text(0, 0, truncate(c, height * 0.3), `class="category" text-anchor="end" transform="translate(${px(p + 3)},${px(plot.bottom + 10)}) rotate(-35)"`));
    else body.push(text(p, plot.bottom + 8 + FONT * 0.8, c, 'class="category" text-anchor="middle"'));
  });
  body.push('</g>');
  body.push(`<g class="references" clip-path="url(#__CLIP__)">`, ...referenceLines(refs.map((r) => ({ ...r, axis: horizontal ? 'x' : 'y' })), horizontal ? 'x' : 'y', valueScale, plot), '</g>');

  body.push(`<g class="data" clip-path="url(#__CLIP__${style === 'dot' ? '-m' : ''})">`);
  for (const s of series) {
    body.push(`<g class="bars" data-name="${escapeXml(s.name)}">`);
    for (let i = 0; i < n; i++) {
      const c = centre(i, s.index);
      const v = s.values[i];
      // A bar goes under its error bar; a dot goes on top of its whisker, which would hide it.
      const err = errorBar(s.lower, s.upper, i, c);
      if (!ok(v)) {
        const note = Number.isFinite(v) ? '≤ 0' : 'n/a';
        const [tx, ty] = at(c, base + (horizontal ? 4 : -4));
        body.push(text(tx, ty + (horizontal ? SMALL * 0.35 : 0), note, `class="missing" font-size="${SMALL}" fill="#888"${horizontal ? '' : ' text-anchor="middle"'}`), err);
      } else if (style === 'bar') {
        const p = valueScale.map(v);
        const [x0, y0] = at(c - thick / 2, Math.min(p, base));
        const [w, h] = horizontal ? [Math.abs(p - base), thick] : [thick, Math.abs(p - base)];
        body.push(`<rect class="bar" data-value="${v}" x="${px(x0)}" y="${px(y0)}" width="${px(w)}" height="${px(h)}" fill="${s.color}" fill-opacity="0.85"/>`, err);
      } else {
        const [x0, y0] = at(c, valueScale.map(v));
        body.push(err, marker(MARKERS[s.index % MARKERS.length], x0, y0, s.color, 4.5).replace(/^<(\w+)/, '<$1 class="dot"'));
      }
    }
    body.push('</g>');
  }
  body.push('</g>');
  if (!hasData) body.push(text((plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2, 'no data', 'class="nodata" text-anchor="middle" fill="#888"'));
  body.push(`<rect class="frame" x="${px(plot.left)}" y="${px(plot.top)}" width="${px(plot.right - plot.left)}" height="${px(plot.bottom - plot.top)}" fill="none" stroke="#333"/>`);
  const valueAxisLabel = options.valueLabel;
  if (valueAxisLabel) {
    body.push(horizontal
      ? text((plot.left + plot.right) / 2, height - 10, valueAxisLabel, 'class="axislabel" text-anchor="middle"')
      : text(0, 0, valueAxisLabel, `class="axislabel" text-anchor="middle" transform="translate(${FONT + 2},${px((plot.top + plot.bottom) / 2)}) rotate(-90)"`));
  }
  if (options.categoryLabel) {
    body.push(horizontal
      ? text(0, 0, options.categoryLabel, `class="axislabel" text-anchor="middle" transform="translate(${FONT + 2},${px((plot.top + plot.bottom) / 2)}) rotate(-90)"`)
      : text((plot.left + plot.right) / 2, height - 10, options.categoryLabel, 'class="axislabel" text-anchor="middle"'));
  }
  if (showLegend) body.push(...drawLegend(entries, plot.right + 16, plot.top, legendW));
  body.push(...titleText(options.title, width, plot));
  return svgDocument(width, height, options.title, body);
}
