// Tests of lib/plot.ts: tick algorithms on known ranges and on random ones
// (fast-check), label formatting, XML escaping, and the charts themselves —
// each parsed by a minimal XML tokenizer below (well-formedness: balanced
// tags, quoted unique attributes, only the five predefined or numeric entity
// references, one root), then queried for the expected numbers of series
// paths, bars, error bars and ticks, and for pixel positions.
//
// Positions are compared to 0.01 px: the SVG writes coordinates rounded to two
// decimals, so two values computed from the same scale differ by at most
// 0.005 + 0.005.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { linearTicks, logTicks, formatTick, escapeXml, lineChart, barChart, PALETTE } from '../../lib/plot.ts';

// ---------------------------------------------------------------- a minimal XML reader

interface Element {
  name: string;
  attrs: Record<string, string>;
  /** Classes of the enclosing elements, outermost first. */
  ancestors: string[];
  /** Text directly inside the element (entities decoded). */
  text: string;
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g;

function decode(s: string): string {
  return s.replace(ENTITY, (e) => ({ '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" })[e] ?? String.fromCodePoint(Number(e.startsWith('&#x') ? `0x${e.slice(3, -1)}` : e.slice(2, -1))));
}

function checkEntities(s: string, where: string): void {
  const stray = s.replace(ENTITY, '');
  if (stray.includes('&')) throw new Error(`XML: bare & in ${where}: ${JSON.stringify(s.slice(0, 80))}`);
  if (stray.includes('<')) throw new Error(`XML: bare < in ${where}: ${JSON.stringify(s.slice(0, 80))}`);
}

/** Parses a well-formed XML document (no DTD, no CDATA) into its elements; throws on the first violation. */
function parseXml(doc: string): Element[] {
  const elements: Element[] = [];
  const stack: Element[] = [];
  let roots = 0;
  let i = 0;
  const tag = /^<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*"[^"]*")*)\s*(\/?)>/;
  const attr = /([A-Za-z_][\w:.-]*)\s*=\s*"([^"]*)"/g;
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const textEnd = lt < 0 ? doc.length : lt;
    const chunk = doc.slice(i, textEnd);
    if (chunk.trim() !== '') {
      if (stack.length === 0) throw new Error(`XML: text outside the root: ${JSON.stringify(chunk.slice(0, 40))}`);
      checkEntities(chunk, 'text');
      if (chunk.includes('>') && chunk.includes(']]>')) throw new Error('XML: ]]> in text');
      stack[stack.length - 1].text += decode(chunk);
    }
    if (lt < 0) break;
    if (doc.startsWith('<!--', lt)) {
      const end = doc.indexOf('-->', lt);
      if (end < 0) throw new Error('XML: unterminated comment');
      i = end + 3;
      continue;
    }
    const m = tag.exec(doc.slice(lt));
    if (!m) throw new Error(`XML: malformed tag at ${lt}: ${JSON.stringify(doc.slice(lt, lt + 60))}`);
    const [whole, closing, name, attrText, selfClosing] = m;
    if (closing) {
      if (attrText.trim() !== '' || selfClosing) throw new Error(`XML: malformed closing tag ${whole}`);
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`XML: </${name}> closes <${open?.name ?? 'nothing'}>`);
    } else {
      const attrs: Record<string, string> = {};
      for (const a of attrText.matchAll(attr)) {
        if (a[1] in attrs) throw new Error(`XML: duplicate attribute ${a[1]} in <${name}>`);
        checkEntities(a[2], `attribute ${a[1]}`);
        attrs[a[1]] = decode(a[2]);
      }
      if (stack.length === 0 && roots++ > 0) throw new Error('XML: more than one root element');
      const el: Element = { name, attrs, ancestors: stack.map((e) => e.attrs.class ?? e.name), text: '' };
      elements.push(el);
      if (!selfClosing) stack.push(el);
    }
    i = lt + whole.length;
  }
  if (stack.length > 0) throw new Error(`XML: unclosed <${stack[stack.length - 1].name}>`);
  if (roots !== 1) throw new Error('XML: no root element');
  return elements;
}

/** Parses an SVG, checks its root, and returns its elements. */
function svgElements(svg: string): Element[] {
  const els = parseXml(svg);
  assert.is(els[0].name, 'svg');
  assert.is(els[0].attrs.xmlns, 'http://www.w3.org/2000/svg');
  return els;
}

const byClass = (els: Element[], cls: string) => els.filter((e) => e.attrs.class === cls);
const inAxis = (els: Element[], axis: string, cls: string) => byClass(els, cls).filter((e) => e.ancestors.includes(axis));
const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

function throwsWith(f: () => unknown, kind: typeof TypeError | typeof RangeError, re: RegExp) {
  assert.throws(f, (e: Error) => e instanceof kind && re.test(e.message), String(re));
}

// The tokenizer must itself reject what it is meant to catch.
const reader = suite('plot: the spec XML reader rejects malformed documents');

reader('accepts a good document and rejects broken ones', () => {
  assert.is(parseXml('<a x="1"><b/>t &amp; u<c>&lt;&#65;</c></a>').length, 3);
  for (const bad of ['<a><b></a></b>', '<a>', '<a x=1/>', '<a x="1" x="2"/>', '<a>&</a>', '<a>x & y</a>', '<a b="<"/>', '<a/><b/>', 'x<a/>', '<a>&bogus;</a>']) {
    assert.throws(() => parseXml(bad), undefined, bad);
  }
});

reader.run();

// ---------------------------------------------------------------- ticks

const ticks = suite('plot: nice ticks');

ticks('linear ticks on known ranges', () => {
  assert.equal(linearTicks(0, 1).major, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.equal(linearTicks(0, 1).domain, [0, 1]);
  assert.equal(linearTicks(0, 10).major, [0, 2, 4, 6, 8, 10]);
  assert.equal(linearTicks(0.1, 0.3).major, [0.1, 0.15, 0.2, 0.25, 0.3]);
  assert.equal(linearTicks(-3.7, 12.1).major, [-5, 0, 5, 10, 15]);
  assert.equal(linearTicks(0, 1e-6).major, [0, 2e-7, 4e-7, 6e-7, 8e-7, 1e-6]);
  assert.equal(linearTicks(0, 100, 3).major, [0, 50, 100]);
});

ticks('linear ticks widen a degenerate range around the value', () => {
  for (const v of [0, 5, -3, 1e-9, 2e8]) {
    const t = linearTicks(v, v);
    assert.ok(t.domain[0] < v && v < t.domain[1], `value ${v} inside ${t.domain}`);
    assert.ok(t.major.length >= 2);
  }
});

ticks('linear ticks: 1-2-5 steps, evenly spaced, covering the data, distinct labels (fast-check)', () => {
  fc.assert(fc.property(
    fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    fc.double({ min: -4, max: 6, noNaN: true }),
    fc.integer({ min: 2, max: 10 }),
    (min, logSpan, count) => {
      const max = min + 10 ** logSpan;
      const t = linearTicks(min, max, count);
      const mantissa = t.step / 10 ** Math.floor(Math.log10(t.step) + 1e-9);
      assert.ok([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9), `step ${t.step}`);
      // The domain covers the data up to 1e-9 of a step: that slack keeps float noise (0.6000000000000001 on a
      // 0.2 step) from adding a whole step, and is far below a pixel.
      const slack = 1e-9 * t.step;
      assert.ok(t.domain[0] <= min + slack && t.domain[1] >= max - slack, `domain ${t.domain} covers [${min}, ${max}]`);
      // The step is at least span/(count − 1), and the ends add at most one step each.
      assert.ok(t.major.length >= 2 && t.major.length <= count + 2, `${t.major.length} ticks for count ${count}`);
      for (let i = 1; i < t.major.length; i++) {
        // Tick values are rounded to the step's decimals: spacing is exact up to the doubles' resolution at that magnitude.
        near(t.major[i] - t.major[i - 1], t.step, 1e-9 * t.step + 4e-16 * Math.abs(t.major[i]), 'spacing');
      }
      const labels = t.major.map((v) => formatTick(v, t.step));
      assert.is(new Set(labels).size, labels.length, `labels ${labels.join(', ')}`);
    },
  ), { seed: 5, numRuns: 300 });
});

ticks('log ticks on known ranges', () => {
  const t = logTicks(1e-5, 1);
  assert.equal(t.major, [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);
  assert.equal(t.domain, [1e-5, 1]);
  assert.is(t.minor.length, 5 * 8);
  assert.ok(t.minor.includes(2e-5) && t.minor.includes(9e-1) && t.minor.includes(3e-3));
  assert.equal(logTicks(3e-5, 0.4).domain, [1e-5, 1]);
  // Many decades: every 2nd (here) decade labelled, the rest minor; at most `count` labels.
  const wide = logTicks(1e-12, 1e3);
  assert.equal(wide.domain, [1e-12, 1e3]);
  assert.equal(wide.major, [1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1, 100]);
  assert.ok(wide.minor.includes(1e-11) && wide.minor.includes(1e3));
  // 60 decades with at most 5 labels: every 10th would give 7, so every 20th.
  assert.equal(logTicks(1e-30, 1e30, 5).major, [1e-20, 1, 1e20]);
});

ticks('log ticks within two decades end on 1-2-5 values', () => {
  assert.equal(logTicks(2, 8).domain, [2, 10]);
  assert.equal(logTicks(2, 8).major, [2, 5, 10]);
  assert.equal(logTicks(2, 8).minor, [3, 4, 6, 7, 8, 9]);
  assert.equal(logTicks(0.7, 1.3).major, [0.5, 1, 2]);
  assert.equal(logTicks(0.011, 0.9).major, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]);
  assert.equal(logTicks(0.011, 0.9, 4).major, [0.01, 0.1, 1]);
  // A single value, even an exact decade, sits strictly inside.
  assert.equal(logTicks(1, 1).domain, [0.5, 2]);
  assert.equal(logTicks(5, 5).domain, [2, 10]);
});

ticks('log ticks: decades covering the data, at most count labels (fast-check)', () => {
  fc.assert(fc.property(
    fc.double({ min: -300, max: 300, noNaN: true }),
    fc.double({ min: 0, max: 40, noNaN: true }),
    fc.integer({ min: 3, max: 10 }),
    (logMin, logSpan, count) => {
      const min = 10 ** logMin;
      const max = 10 ** Math.min(307, logMin + logSpan);
      const t = logTicks(min, max, count);
      assert.ok(t.domain[0] <= min && t.domain[1] >= max, `domain ${t.domain} covers [${min}, ${max}]`);
      assert.ok(t.major.length >= 2 && t.major.length <= count, `${t.major.length} labels for count ${count}`);
      for (const v of t.major.concat(t.minor)) {
        const k = Math.floor(Math.log10(v) + 1e-9);
        const m = Number((v / 10 ** k).toPrecision(10));
        assert.ok(Number.isInteger(m) && m >= 1 && m <= 9, `tick ${v} is m × 10^k`);
      }
      const labels = t.major.map((v) => formatTick(v));
      assert.is(new Set(labels).size, labels.length, `labels ${labels.join(', ')}`);
    },
  ), { seed: 7, numRuns: 300 });
});

ticks('tick labels are compact', () => {
  assert.equal(linearTicks(0, 1).major.map((v) => formatTick(v, 0.2)), ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
  assert.is(formatTick(2000, 500), '2000');
  assert.is(formatTick(-5, 5), '-5');
  assert.is(formatTick(0.3000000000000001, 0.1), '0.3');
  assert.is(formatTick(2e6, 1e6), '2e6');
  assert.is(formatTick(1.5e6, 5e5), '1.5e6');
  assert.is(formatTick(5e-4, 1e-4), '5e-4');
  assert.is(formatTick(1.2e-4, 2e-5), '1.2e-4');
  // Log axes: 1e-3 style outside 0.01 … 9999.
  assert.equal([1e-5, 1e-3, 0.01, 0.1, 1, 10, 1000, 1e4, 2e-5, 5e7].map((v) => formatTick(v)), ['1e-5', '1e-3', '0.01', '0.1', '1', '10', '1000', '1e4', '2e-5', '5e7']);
});

ticks('ticks at the ends of the doubles: distinct, finite, covering the data', () => {
  // toFixed(100) rounded every tick of [1e-120, 3e-120] to 0 (domain [0, 0]); 5 × 1e24 is 4.999999999999999e24.
  assert.equal(linearTicks(1e-120, 3e-120).major, [1e-120, 1.5e-120, 2e-120, 2.5e-120, 3e-120]);
  assert.equal(linearTicks(1e25, 3e25).major, [1e25, 1.5e25, 2e25, 2.5e25, 3e25]);
  const MAX = Number.MAX_VALUE;
  for (const [lo, hi] of [[-MAX, MAX], [MAX, MAX], [-MAX, -MAX], [5e-324, 5e-324], [0, 5e-324], [5e-324, 1e-323], [0, 0]]) {
    const t = linearTicks(lo, hi);
    assert.ok(Number.isFinite(t.domain[0]) && Number.isFinite(t.domain[1]) && t.domain[0] < t.domain[1], `[${lo}, ${hi}]: domain ${t.domain}`);
    assert.ok(t.domain[0] <= lo && hi <= t.domain[1], `[${lo}, ${hi}] inside ${t.domain}`);
    assert.ok(t.major.length >= 2 && t.major.every(Number.isFinite) && new Set(t.major).size === t.major.length, `[${lo}, ${hi}]: ticks ${t.major}`);
  }
  for (const [lo, hi] of [[5e-324, MAX], [5e-324, 5e-324], [MAX, MAX], [5e-324, 1e-320], [1e307, MAX]]) {
    const t = logTicks(lo, hi);
    assert.ok(t.domain[0] > 0 && t.domain[1] < Infinity && t.domain[0] < t.domain[1], `log [${lo}, ${hi}]: domain ${t.domain}`);
    assert.ok(t.domain[0] <= lo && hi <= t.domain[1], `log [${lo}, ${hi}] inside ${t.domain}`);
    assert.ok(t.major.concat(t.minor).every((v) => v > 0 && v < Infinity), `log [${lo}, ${hi}]: ticks ${t.major}`);
  }
});

ticks('bad ranges are refused with the function name and the values', () => {
  throwsWith(() => linearTicks(1, 0), RangeError, /^linearTicks: .*\[1, 0\]/);
  throwsWith(() => linearTicks(0, Infinity), RangeError, /^linearTicks: .*Infinity/);
  throwsWith(() => linearTicks(0, 1, 1), RangeError, /^linearTicks: count/);
  throwsWith(() => logTicks(0, 1), RangeError, /^logTicks: .*min > 0.*\[0, 1\]/);
  throwsWith(() => logTicks(NaN, 1), RangeError, /^logTicks: /);
  throwsWith(() => linearTicks('0' as unknown as number, 1), TypeError, /^linearTicks: /);
});

ticks.run();

// ---------------------------------------------------------------- escaping

const escaping = suite('plot: XML escaping');

escaping('escapeXml turns markup characters into entities and drops what XML forbids', () => {
  assert.is(escapeXml(`a < b & c > "d" 'e'`), 'a &lt; b &amp; c &gt; &quot;d&quot; &apos;e&apos;');
  assert.is(escapeXml('bell\u0007 tab\t'), 'bell tab\t');
  assert.is(escapeXml('lone \uD800 surrogate'), 'lone \uFFFD surrogate');
  assert.is(escapeXml('pair 😀'), 'pair 😀');
});

escaping('text in titles, labels, series names and categories is escaped', () => {
  const nasty = `<script>alert("x")</script> & θ'`;
  const svgs = [
    lineChart({ title: nasty, xLabel: nasty, yLabel: nasty, series: [{ name: nasty, x: [1, 2], y: [3, 4] }, { name: 'b', x: [1], y: [1] }], reference: [{ value: 3.5, label: nasty }] }),
    barChart({ title: nasty, categories: [nasty, 'ok'], series: [{ name: nasty, values: [1, 2] }, { name: 'b', values: [2, 1] }], valueLabel: nasty, categoryLabel: nasty }),
    barChart({ title: 't', orientation: 'vertical', categories: [nasty, 'ok'], values: [1, 2] }),
  ];
  for (const svg of svgs) {
    const els = svgElements(svg);
    assert.not.ok(svg.includes('<script'), 'no raw markup from the text');
    // Decoded, the text is back as given (long labels may be shortened with an ellipsis, never broken mid-entity).
    const texts = els.filter((e) => e.name === 'text').map((e) => e.text);
    assert.ok(texts.some((t) => t.startsWith('<script>alert(')), 'the text survives escaping');
  }
  for (const svg of svgs.slice(0, 2)) assert.is(svgElements(svg).find((e) => e.name === 'title')!.text, nasty);
  const line = svgElements(svgs[0]);
  assert.ok(line.some((e) => e.attrs['data-name'] === nasty), 'attributes are escaped too');
});

escaping('series colours are escaped in every attribute they go into', () => {
  // Unescaped, the quote ended the attribute and the rest became attributes of its own (or broke the XML).
  const color = `red" onload="alert('x')" data-x="<&>`;
  const svgs = [
    lineChart({ series: [{ name: 'a', x: [1, 2, 3], y: [1, 2, 3], lower: [0, 1, 2], upper: [2, 3, 4], style: 'line+points', color }, { name: 'b', x: [1], y: [2], color }] }),
    barChart({ categories: ['a', 'b'], series: [{ name: 's', values: [1, 2], color }, { name: 't', values: [2, 1], color }] }),
    barChart({ style: 'dot', scale: 'log', categories: ['a', 'b'], series: [{ name: 's', values: [1, 2], color }, { name: 't', values: [2, 1], color }] }),
  ];
  for (const svg of svgs) {
    const els = svgElements(svg);
    assert.not.ok(els.some((e) => 'onload' in e.attrs || 'data-x' in e.attrs), 'no attribute injected');
    const painted = els.flatMap((e) => [e.attrs.fill, e.attrs.stroke]).filter((v) => v === color);
    assert.ok(painted.length >= 4, `the colour reads back as given (${painted.length} times)`);
    assert.ok(svg.includes('="red&quot; onload=&quot;alert(&apos;x&apos;)&quot; data-x=&quot;&lt;&amp;&gt;"'), 'escaped in the text');
  }
  throwsWith(() => lineChart({ series: [{ name: 'a', x: [1], y: [1], color: 3 as unknown as string }] }), TypeError, /^lineChart: series 'a' color must be a CSS colour string, got number/);
});

escaping.run();

// ---------------------------------------------------------------- line charts

const line = suite('plot: line charts');

const steps = Array.from({ length: 50 }, (_, i) => i * 100);

line('one path per line series, markers for points, a band per interval series, a legend entry each', () => {
  const svg = lineChart({
    title: 'variance',
    xLabel: 'step',
    yLabel: 'variance',
    yScale: 'log',
    series: [
      { name: 'REINFORCE', x: steps, y: steps.map(() => 0.02), lower: steps.map(() => 0.015), upper: steps.map(() => 0.027) },
      { name: 'REBAR', x: steps, y: steps.map((t) => 0.02 * Math.exp(-t / 2000)) },
      { name: 'RELAX', x: steps, y: steps.map((t) => 0.02 * Math.exp(-t / 700)), style: 'line+points' },
      { name: 'exact', x: [0, 2500, 4900], y: [1e-3, 1e-3, 1e-3], style: 'points' },
    ],
  });
  const els = svgElements(svg);
  assert.is(byClass(els, 'series').length, 3, 'three polylines (the points series has none)');
  assert.is(byClass(els, 'band').length, 1);
  const groups = byClass(els, 'points');
  assert.is(groups.length, 2);
  const markers = els.filter((e) => e.ancestors.includes('points'));
  assert.is(markers.length, 50 + 3);
  assert.is(byClass(els, 'legend-entry').length, 4);
  // Series colours come from the palette, in order.
  assert.equal(byClass(els, 'series').map((e) => e.attrs.stroke), PALETTE.slice(0, 3));
  // A polyline of 50 points: one move and 49 lines.
  const d = byClass(els, 'series')[0].attrs.d;
  assert.is((d.match(/M/g) ?? []).length, 1);
  assert.is((d.match(/L/g) ?? []).length, 49);
});

line('the y axis of log [1e-5, 1] has its decades at the right heights, and data sit on them', () => {
  const xs = [0, 1, 2, 3, 4, 5];
  const ys = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
  const els = svgElements(lineChart({ yScale: 'log', series: [{ name: 'd', x: xs, y: ys, style: 'points' }] }));
  const major = inAxis(els, 'axis axis-y', 'tick major');
  assert.equal(major.map((e) => Number(e.attrs['data-value'])), ys);
  const pos = (v: number) => Number(major.find((e) => Number(e.attrs['data-value']) === v)!.attrs.y1);
  const bottom = pos(1e-5);
  const top = pos(1);
  assert.ok(top < bottom, 'larger values are higher up');
  // Equal spacing per decade: 10^k at a fraction (k + 5)/5 of the way up.
  for (let k = -5; k <= 0; k++) near(pos(Number(`1e${k}`)), bottom + ((top - bottom) * (k + 5)) / 5, 0.01, `decade 1e${k}`);
  // A minor tick at 2e-3 sits log10(2) of a decade above 1e-3.
  const minor = inAxis(els, 'axis axis-y', 'tick minor').find((e) => Number(e.attrs['data-value']) === 2e-3)!;
  near(Number(minor.attrs.y1), pos(1e-3) + ((top - bottom) / 5) * Math.log10(2), 0.01, 'minor tick 2e-3');
  // Each data point's marker sits on its decade's tick.
  const cys = els.filter((e) => e.ancestors.includes('points')).map((e) => Number(e.attrs.cy));
  ys.forEach((v, i) => near(cys[i], pos(v), 0.01, `point ${v}`));
  // Labels in 1e-3 style.
  const labels = els.filter((e) => e.attrs.class === 'ticklabel' && e.ancestors.includes('axis axis-y')).map((e) => e.text);
  assert.equal(labels, ['1e-5', '1e-4', '1e-3', '0.01', '0.1', '1']);
});

line('a linear x axis over [0, 1] has ticks 0, 0.2, …, 1 placed linearly', () => {
  const els = svgElements(lineChart({ series: [{ name: 'a', x: [0, 0.5, 1], y: [0, 1, 0] }] }));
  const major = inAxis(els, 'axis axis-x', 'tick major');
  assert.equal(major.map((e) => Number(e.attrs['data-value'])), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const xs = major.map((e) => Number(e.attrs.x1));
  for (let i = 1; i < xs.length; i++) near(xs[i] - xs[i - 1], (xs[5] - xs[0]) / 5, 0.02, 'even spacing');
  // The path's middle point (0.5, 1) is halfway across, at the top tick.
  const ys = inAxis(els, 'axis axis-y', 'tick major');
  const yTop = Number(ys[ys.length - 1].attrs.y1);
  const m = /L([\d.]+),([\d.]+)L/.exec(byClass(els, 'series')[0].attrs.d)!;
  near(Number(m[1]), (xs[0] + xs[5]) / 2, 0.01, 'x of 0.5');
  near(Number(m[2]), yTop, 0.01, 'y of 1');
});

line('a long x axis gets more ticks, a narrow one fewer, and labels never overlap', () => {
  for (const width of [300, 640, 1200]) {
    const els = svgElements(lineChart({ width, series: [{ name: 'a', x: [0, 123456], y: [0, 1] }] }));
    const labels = els.filter((e) => e.attrs.class === 'ticklabel' && e.ancestors.includes('axis axis-x'));
    const xs = labels.map((e) => Number(e.attrs.x));
    const widest = Math.max(...labels.map((e) => e.text.length * 12 * 0.6));
    for (let i = 1; i < xs.length; i++) assert.ok(xs[i] - xs[i - 1] >= widest + 10, `width ${width}: labels ${labels.map((e) => e.text)} overlap`);
  }
});

line('reference lines are drawn and pull the domain to include them', () => {
  const els = svgElements(lineChart({ series: [{ name: 'a', x: [0, 1], y: [1, 2] }], reference: [{ value: -3, label: 'exact' }, { value: 0.5, axis: 'x' }] }));
  assert.is(byClass(els, 'reference').length, 2);
  const yTicks = inAxis(els, 'axis axis-y', 'tick major').map((e) => Number(e.attrs['data-value']));
  assert.ok(yTicks[0] <= -3, `y axis reaches -3: ${yTicks}`);
});

line('two charts on one page get different clip-path ids', () => {
  const a = lineChart({ series: [{ name: 'a', x: [0, 1], y: [0, 1] }] });
  const b = lineChart({ series: [{ name: 'a', x: [0, 1], y: [1, 0] }] });
  const id = (svg: string) => svgElements(svg).find((e) => e.name === 'clipPath')!.attrs.id;
  assert.is.not(id(a), id(b));
  assert.ok(a.includes(`url(#${id(a)})`));
  assert.is(lineChart({ series: [{ name: 'a', x: [0, 1], y: [0, 1] }] }), a, 'deterministic');
});

line.run();

// ---------------------------------------------------------------- awkward data

const edges = suite('plot: edge cases give valid SVG');

edges('empty charts say "no data"', () => {
  for (const svg of [
    lineChart({ series: [] }),
    lineChart({ title: 'empty series', series: [{ name: 'a', x: [], y: [] }], yScale: 'log' }),
    lineChart({ series: [{ name: 'a', x: [NaN, 1], y: [1, Infinity] }] }),
    barChart({ categories: [], values: [] }),
    barChart({ categories: ['a', 'b'], values: [NaN, -Infinity] }),
  ]) {
    const els = svgElements(svg);
    assert.is(byClass(els, 'nodata').length, 1, svg.slice(0, 200));
    assert.ok(inAxis(els, 'axis axis-x', 'tick major').length + inAxis(els, 'axis axis-y', 'tick major').length >= 4, 'axes still drawn');
  }
});

edges('NaN and Infinity break a line into pieces; a lone point gets a marker', () => {
  const els = svgElements(lineChart({ series: [{ name: 'a', x: [0, 1, 2, 3, 4, 5, 6], y: [1, 2, NaN, 3, 4, Infinity, 5] }] }));
  const d = byClass(els, 'series')[0].attrs.d;
  assert.is((d.match(/M/g) ?? []).length, 2, 'two runs of two points');
  assert.is(els.filter((e) => e.ancestors.includes('points')).length, 1, 'the last point stands alone');
  assert.ok(!/NaN|Infinity/.test(d));
});

edges('a single point and identical values get a domain around them', () => {
  for (const series of [[{ name: 'one', x: [3], y: [7] }], [{ name: 'flat', x: [1, 2, 3], y: [7, 7, 7] }]]) {
    for (const yScale of ['linear', 'log'] as const) {
      const els = svgElements(lineChart({ yScale, xScale: yScale, series }));
      const y = inAxis(els, 'axis axis-y', 'tick major').map((e) => Number(e.attrs['data-value']));
      assert.ok(y[0] < 7 && y[y.length - 1] > 7, `${yScale}: 7 strictly inside [${y}]`);
      assert.not.ok(/NaN|Infinity/.test(els.map((e) => Object.values(e.attrs).join(' ')).join(' ')), 'no NaN coordinates');
    }
  }
});

edges('values <= 0 on a log axis are skipped and counted in the legend; bands reaching <= 0 run to the axis edge', () => {
  const svg = lineChart({
    yScale: 'log',
    series: [{ name: 'a', x: [0, 1, 2, 3], y: [1, 0, 1e-2, -1], lower: [0.5, 0, -1, 2e-3], upper: [2, 1, 0.1, 0.2] }],
  });
  const els = svgElements(svg);
  const legend = els.filter((e) => e.ancestors.includes('legend-entry') && e.name === 'text').map((e) => e.text);
  assert.equal(legend, ['a (2 values ≤ 0 not shown)']);
  const band = byClass(els, 'band');
  assert.is(band.length, 1, 'the band is whole: every upper end is positive');
  const bottom = Math.max(...inAxis(els, 'axis axis-y', 'tick major').map((e) => Number(e.attrs.y1)));
  const ys = band[0].attrs.points.split(' ').map((p) => Number(p.split(',')[1]));
  assert.is(ys.filter((y) => Math.abs(y - bottom) < 0.01).length, 2, 'two lower ends at the axis edge');
  // A log x axis skips x <= 0 too.
  const els2 = svgElements(lineChart({ xScale: 'log', series: [{ name: 'b', x: [0, 1, 10], y: [1, 2, 3] }] }));
  assert.is((byClass(els2, 'series')[0].attrs.d.match(/L/g) ?? []).length, 1);
});

edges('fixed domains clip data and keep only ticks inside', () => {
  const els = svgElements(lineChart({ xDomain: [0, 10], yDomain: [1e-3, 1], yScale: 'log', series: [{ name: 'a', x: [-5, 5, 15], y: [1e-6, 0.1, 10] }] }));
  assert.equal(inAxis(els, 'axis axis-y', 'tick major').map((e) => Number(e.attrs['data-value'])), [1e-3, 1e-2, 1e-1, 1]);
  assert.equal(inAxis(els, 'axis axis-x', 'tick major').map((e) => Number(e.attrs['data-value'])).slice(0, 1), [0]);
  assert.ok(els.some((e) => e.attrs['clip-path']?.startsWith('url(#mcgrad-clip-')));
});

/** Every attribute of every element, for a NaN or Infinity search. */
const attributeText = (els: Element[]) => els.map((e) => Object.values(e.attrs).join(' ')).join(' ');

/** The frame of the plot area, and the points of the series paths and markers, in pixels. */
function framed(els: Element[]): { frame: [number, number, number, number]; points: [number, number][] } {
  const f = byClass(els, 'frame')[0].attrs;
  const frame: [number, number, number, number] = [Number(f.x), Number(f.y), Number(f.x) + Number(f.width), Number(f.y) + Number(f.height)];
  const points: [number, number][] = [];
  for (const e of byClass(els, 'series')) for (const m of e.attrs.d.matchAll(/[ML](-?[\d.e+]+),(-?[\d.e+]+)/g)) points.push([Number(m[1]), Number(m[2])]);
  for (const e of els.filter((el) => el.ancestors.includes('points') && el.name === 'circle')) points.push([Number(e.attrs.cx), Number(e.attrs.cy)]);
  return { frame, points };
}

edges('extreme data: no NaN or Infinity anywhere, and every point inside the plot', () => {
  const MAX = Number.MAX_VALUE;
  // Before: ±MAX overflowed max − min and whole steps past MAX (NaN paths, an Infinity-wide clip path),
  // subnormal or equal tiny values gave a zero tick step (NaN), log decades 1e-324 = 0 and 1e309 = ∞ (NaN grid lines).
  const cases: [string, Parameters<typeof lineChart>[0]][] = [
    ['1e-300 … 1e300', { series: [{ name: 'a', x: [1, 2, 3], y: [1e-300, 1, 1e300] }] }],
    ['−1e308 … 1.7e308', { series: [{ name: 'a', x: [1, 2, 3], y: [-1e308, 0, 1.7e308] }] }],
    ['±MAX on x', { series: [{ name: 'a', x: [-MAX, MAX], y: [1, 2] }] }],
    ['±MAX on both', { series: [{ name: 'a', x: [-MAX, 0, MAX], y: [MAX, -MAX, MAX], style: 'line+points' }] }],
    ['equal at 5e-324', { series: [{ name: 'a', x: [5e-324, 5e-324], y: [5e-324, 5e-324], style: 'points' }] }],
    ['equal at MAX', { series: [{ name: 'a', x: [MAX, MAX], y: [-MAX, -MAX], style: 'points' }] }],
    ['subnormal range', { series: [{ name: 'a', x: [5e-324, 1e-323, 2e-323], y: [0, 5e-324, 1e-322] }] }],
    ['1e-120 … 3e-120', { series: [{ name: 'a', x: [1e-120, 2e-120, 3e-120], y: [1, 2, 3] }] }],
    ['log 5e-324 … MAX', { xScale: 'log', yScale: 'log', series: [{ name: 'a', x: [5e-324, 1, MAX], y: [MAX, 1, 5e-324] }] }],
    ['log equal at 5e-324', { yScale: 'log', series: [{ name: 'a', x: [1, 2], y: [5e-324, 5e-324] }] }],
    ['log equal at MAX', { yScale: 'log', series: [{ name: 'a', x: [1, 2], y: [MAX, MAX] }] }],
    ['infinities mixed in', { series: [{ name: 'a', x: [1, 2, Infinity, 4], y: [Infinity, -MAX, NaN, MAX], lower: [-Infinity, -MAX, 0, 0], upper: [Infinity, MAX, 1, MAX] }] }],
    ['references at ±1e308', { reference: [{ value: 1e308 }, { value: -1e308, axis: 'x' }], series: [{ name: 'a', x: [1, 2], y: [1, 2] }] }],
    ['a reference far outside a fixed domain', { yDomain: [0, 1e-300], reference: [{ value: MAX }], series: [{ name: 'a', x: [1, 2], y: [0, 1e-300] }] }],
  ];
  for (const [name, options] of cases) {
    const els = svgElements(lineChart(options));
    assert.not.ok(/NaN|Infinity/.test(attributeText(els)), `${name}: ${attributeText(els).match(/.{0,60}(NaN|Infinity).{0,20}/)?.[0]}`);
    const { frame, points } = framed(els);
    assert.ok(points.length > 0, `${name}: points drawn`);
    for (const [x, y] of points) {
      assert.ok(x >= frame[0] - 0.01 && x <= frame[2] + 0.01 && y >= frame[1] - 0.01 && y <= frame[3] + 0.01, `${name}: (${x}, ${y}) inside ${frame}`);
    }
  }
  const bars: [string, Parameters<typeof barChart>[0]][] = [
    ['bars ±MAX', { categories: ['a', 'b'], values: [-MAX, MAX], lower: [-MAX, 0], upper: [0, MAX] }],
    ['bars 1e-300 … 1e300', { categories: ['a', 'b'], values: [1e-300, 1e300] }],
    ['vertical subnormal bars', { orientation: 'vertical', categories: ['a', 'b'], values: [5e-324, 1e-323] }],
    ['log dots 5e-324 … MAX', { scale: 'log', style: 'dot', categories: ['a', 'b'], values: [5e-324, MAX], lower: [5e-324, 1], upper: [1, MAX] }],
  ];
  for (const [name, options] of bars) {
    const els = svgElements(barChart(options));
    assert.not.ok(/NaN|Infinity/.test(attributeText(els)), `${name}: ${attributeText(els).match(/.{0,60}(NaN|Infinity).{0,20}/)?.[0]}`);
    assert.is(byClass(els, 'bar').length + byClass(els, 'dot').length, 2, `${name}: both values drawn`);
  }
  // A fixed linear domain too narrow to draw is refused rather than drawn as NaN.
  throwsWith(() => lineChart({ yDomain: [0, 5e-324], series: [] }), RangeError, /^lineChart: a linear domain must span at least 1e-300, got \[0, 5e-324\]/);
});

edges.run();

// ---------------------------------------------------------------- bar charts

const bars = suite('plot: bar charts');

const names = ['reinforce', 'reinforce-loo', 'rebar', 'relax'];
const variance = [2e-2, 5e-3, 4e-4, 3e-5];

bars('one bar and one error bar per category; bars on a log axis grow from its bottom edge', () => {
  const els = svgElements(barChart({ title: 'variance', categories: names, values: variance, lower: variance.map((v) => v * 0.9), upper: variance.map((v) => v * 1.1), scale: 'log' }));
  const rects = byClass(els, 'bar');
  assert.is(rects.length, 4);
  assert.is(byClass(els, 'errorbar').length, 4);
  assert.equal(byClass(els, 'category').map((e) => e.text), names);
  assert.is(byClass(els, 'legend').length, 0, 'no legend for one series');
  const ticks = inAxis(els, 'axis axis-x', 'tick major');
  assert.equal(ticks.map((e) => Number(e.attrs['data-value'])), [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]);
  const pos = (v: number) => Number(ticks.find((e) => Number(e.attrs['data-value']) === v)!.attrs.x1);
  const perDecade = (pos(1e-1) - pos(1e-5)) / 4;
  rects.forEach((r, i) => {
    near(Number(r.attrs.x), pos(1e-5), 0.01, 'bar starts at the axis edge');
    near(Number(r.attrs.x) + Number(r.attrs.width), pos(1e-5) + perDecade * (Math.log10(variance[i]) + 5), 0.02, `bar end for ${variance[i]}`);
  });
  // Categories read top to bottom in the given order.
  const ys = rects.map((r) => Number(r.attrs.y));
  for (let i = 1; i < ys.length; i++) assert.ok(ys[i] > ys[i - 1]);
});

bars('grouped vertical bars around zero: negative bars hang below the zero line', () => {
  const els = svgElements(barChart({
    orientation: 'vertical',
    categories: ['gumbel-softmax', 'straight-through', 'exact'],
    series: [
      { name: 'θ0', values: [0.012, -0.03, 0], lower: [0.01, -0.034, 0], upper: [0.014, -0.026, 0] },
      { name: 'θ1', values: [-0.005, 0.02, 0] },
    ],
    reference: [{ value: 0 }],
    valueLabel: 'bias',
  }));
  const rects = byClass(els, 'bar');
  assert.is(rects.length, 6);
  assert.is(byClass(els, 'errorbar').length, 3);
  assert.is(byClass(els, 'legend-entry').length, 2);
  const zero = Number(inAxis(els, 'axis axis-y', 'tick major').find((e) => Number(e.attrs['data-value']) === 0)!.attrs.y1);
  const [pos, neg] = [rects[0], rects[1]];
  near(Number(pos.attrs.y) + Number(pos.attrs.height), zero, 0.01, 'a positive bar ends at zero');
  near(Number(neg.attrs.y), zero, 0.01, 'a negative bar starts at zero');
  assert.ok(Number(rects[2].attrs.height) === 0, 'a zero value is a zero-height bar');
});

bars('dot style, missing values and values <= 0 on a log axis', () => {
  const els = svgElements(barChart({
    style: 'dot',
    scale: 'log',
    categories: ['a', 'b', 'c', 'd'],
    values: [1e-2, NaN, 0, 1e-4],
    lower: [5e-3, NaN, 0, -1],
    upper: [2e-2, NaN, 0, 2e-4],
  }));
  assert.is(byClass(els, 'dot').length, 2);
  assert.equal(byClass(els, 'missing').map((e) => e.text), ['n/a', '≤ 0']);
  const bars = byClass(els, 'errorbar');
  assert.is(bars.length, 2);
  // The interval of 'd' reaches below 0, so it runs to the left edge without a cap there: 2 segments, not 3.
  assert.is((bars[1].attrs.d.match(/M/g) ?? []).length, 2);
});

bars.run();

// ---------------------------------------------------------------- errors

const errors = suite('plot: errors name the function and the values');

errors('lineChart refuses malformed input', () => {
  throwsWith(() => lineChart({ series: [{ name: 'a', x: [1, 2, 3], y: [1, 2] }] }), RangeError, /^lineChart: series 'a' y has 2 values but 3/);
  throwsWith(() => lineChart({ series: [{ name: 'a', x: [1], y: [1], lower: [0] }] }), TypeError, /^lineChart: series 'a' has only one of lower and upper/);
  throwsWith(() => lineChart({ yScale: 'ln' as 'log', series: [] }), TypeError, /^lineChart: yScale must be 'linear' or 'log', got "ln"/);
  throwsWith(() => lineChart({ series: 'a' as unknown as [] }), TypeError, /^lineChart: series must be an array/);
  throwsWith(() => lineChart({ series: [{ name: 'a', x: ['1'] as unknown as number[], y: [1] }] }), TypeError, /^lineChart: series 'a' x\[0\] must be a number.*NaN/);
  throwsWith(() => lineChart({ width: 50, series: [] }), RangeError, /^lineChart: width must be a number >= 160 pixels, got 50/);
  throwsWith(() => lineChart({ yScale: 'log', yDomain: [0, 1], series: [] }), RangeError, /^lineChart: a domain needs .*d0 > 0.*\[0, 1\]/);
  throwsWith(() => lineChart({ series: [{ name: 'a', x: [1], y: [1], style: 'bars' as 'line' }] }), TypeError, /^lineChart: series 'a' style must be/);
});

errors('barChart refuses malformed input', () => {
  throwsWith(() => barChart({ categories: ['a', 'b'], values: [1] }), RangeError, /^barChart: values has 1 values but 2/);
  throwsWith(() => barChart({ categories: ['a'], values: [1], series: [] }), TypeError, /^barChart: give either values .* or series/);
  throwsWith(() => barChart({ categories: ['a'], series: [{ name: 's', values: [1], upper: [2] }] }), TypeError, /^barChart: series 's' has only one of lower and upper/);
  throwsWith(() => barChart({ categories: 'a' as unknown as string[], values: [1] }), TypeError, /^barChart: categories must be an array/);
  throwsWith(() => barChart({ categories: ['a'], values: [1], orientation: 'diagonal' as 'vertical' }), TypeError, /^barChart: orientation must be/);
  throwsWith(() => barChart({ categories: ['a'], values: [1], reference: [{ value: 'x' as unknown as number }] }), TypeError, /^barChart: each reference needs a numeric value/);
});

errors.run();
