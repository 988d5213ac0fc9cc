// Tests of lib/report.ts: number formatting against hand-written strings, the
// page's structure (balanced tags, checked by a small HTML tag reader that
// knows the void elements), escaping, tables, inline SVG figures, the table of
// contents, and errors.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { htmlReport, formatNumber, heading, paragraph, list, code, table, figure } from '../../lib/report.ts';
import { lineChart, barChart } from '../../lib/plot.ts';

// ---------------------------------------------------------------- a small HTML tag reader

interface Tag {
  name: string;
  attrs: string;
  /** Text up to the next tag. */
  text: string;
}

const VOID = new Set(['meta', 'br', 'hr', 'img', 'link', 'input']);

/** Checks that tags balance (void elements and self-closing SVG tags aside) and returns the opening tags in order. */
function parseHtml(doc: string): Tag[] {
  const body = doc.replace(/^<!DOCTYPE html>\s*/, '');
  if (body === doc) throw new Error('HTML: no doctype');
  const tags: Tag[] = [];
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*(\/?)>([^<]*)/g;
  let last = 0;
  for (const m of body.matchAll(re)) {
    if (body.slice(last, m.index).trim() !== '') throw new Error(`HTML: stray text or malformed tag at ${last}: ${JSON.stringify(body.slice(last, last + 60))}`);
    last = m.index + m[0].length;
    const [, closing, rawName, attrs, selfClosing, text] = m;
    const name = rawName.toLowerCase();
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+);)/.test(text + attrs)) throw new Error(`HTML: bare & near ${JSON.stringify(text.slice(0, 40))}`);
    if (closing) {
      const open = stack.pop();
      if (open !== name) throw new Error(`HTML: </${name}> closes <${open}>`);
    } else {
      tags.push({ name, attrs, text });
      if (!selfClosing && !VOID.has(name)) stack.push(name);
    }
  }
  if (body.slice(last).trim() !== '') throw new Error('HTML: trailing text');
  if (stack.length > 0) throw new Error(`HTML: unclosed <${stack.join('>, <')}>`);
  return tags;
}

const named = (tags: Tag[], name: string) => tags.filter((t) => t.name === name);

function throwsWith(f: () => unknown, kind: typeof TypeError | typeof RangeError, re: RegExp) {
  assert.throws(f, (e: Error) => e instanceof kind && re.test(e.message), String(re));
}

const reader = suite('report: the spec HTML reader rejects malformed pages');

reader('accepts a good page and rejects broken ones', () => {
  assert.is(parseHtml('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body><p>a &amp; b</p><svg><rect/></svg></body></html>').length, 7);
  for (const bad of ['<html></html>', '<!DOCTYPE html><p><b></p></b>', '<!DOCTYPE html><p>', '<!DOCTYPE html><p>a & b</p>', '<!DOCTYPE html><p x=1></p>']) {
    assert.throws(() => parseHtml(bad), undefined, bad);
  }
});

reader.run();

// ---------------------------------------------------------------- numbers

const numbers = suite('report: number formatting');

numbers('significant digits, exponents outside [1e-3, 10^p), whole integers', () => {
  const cases: [number, string][] = [
    [0.0213456, '0.02135'],
    [1234.5678, '1235'],
    [12345.6, '1.235e4'],
    [1.5e-5, '1.500e-5'],
    [-2.5e-7, '-2.500e-7'],
    [0.001, '0.001000'],
    [42, '42'],
    [-5000000, '-5000000'],
    [0, '0'],
    [NaN, 'NaN'],
    [Infinity, '∞'],
    [-Infinity, '−∞'],
  ];
  for (const [v, s] of cases) assert.is(formatNumber(v), s, String(v));
  assert.is(formatNumber(0.123456, { precision: 2 }), '0.12');
  assert.is(formatNumber(3.14159, { precision: 6 }), '3.14159');
  assert.is(formatNumber(-0.5, { decimals: 2 }), '-0.50');
  assert.is(formatNumber(-0.001, { decimals: 2 }), '0.00');
  assert.is(formatNumber(7, { decimals: 1 }), '7.0');
});

numbers('bad digits are refused', () => {
  throwsWith(() => formatNumber(1, { precision: 0 }), RangeError, /^formatNumber: precision must be an integer from 1 to 21, got 0/);
  throwsWith(() => formatNumber(1, { decimals: 2.5 }), RangeError, /^formatNumber: decimals/);
  throwsWith(() => formatNumber('1' as unknown as number), TypeError, /^formatNumber: expects a number, got string/);
});

numbers.run();

// ---------------------------------------------------------------- pages

const pages = suite('report: HTML pages');

const chart = lineChart({ title: 'loss', series: [{ name: 'a', x: [0, 1, 2], y: [3, 2, 1] }] });
const bars = barChart({ title: 'variance', categories: ['reinforce', 'relax'], values: [0.02, 3e-5], scale: 'log' });

pages('a full page is balanced, self-contained and in order', () => {
  const html = htmlReport({
    title: 'mcgrad compare',
    blocks: [
      heading('Categorical, K = 10'),
      paragraph('Run with `npm start`.'),
      table(['estimator', 'variance'], [['reinforce', 0.0213456], ['relax', 3.1e-5]]),
      figure(bars, 'Variance per estimator.'),
      heading('Toy problem'),
      list(['one', 'two']),
      figure(chart),
      heading('Notes', 3),
      code('mcgrad compare --seed 1'),
    ],
    footer: 'seed 1',
  });
  const tags = parseHtml(html);
  assert.is(named(tags, 'title')[0].text, 'mcgrad compare');
  assert.is(named(tags, 'h1')[0].text, 'mcgrad compare');
  assert.equal(named(tags, 'h2').map((t) => t.text), ['Categorical, K = 10', 'Toy problem']);
  assert.is(named(tags, 'h3').length, 1);
  assert.is(named(tags, 'svg').length, 2);
  assert.is(named(tags, 'figcaption').length, 1);
  assert.is(named(tags, 'li').length, 2);
  assert.is(named(tags, 'pre')[0].text, 'mcgrad compare --seed 1');
  assert.is(named(tags, 'code')[0].text, 'npm start');
  assert.is(named(tags, 'footer')[0].text, 'seed 1');
  assert.is(named(tags, 'nav').length, 0, 'no contents for two sections');
  assert.ok(html.includes('<meta charset="utf-8">'));
  // Self-contained: nothing is fetched.
  assert.not.ok(/<script|<link|\ssrc=|href="http|@import|url\(http/i.test(html));
  // Blocks come out in the order given.
  const order = ['Categorical, K = 10', '<table>', '<svg', 'Toy problem', '<ul>'].map((s) => html.indexOf(s));
  assert.equal(order, order.slice().sort((a, b) => a - b));
});

pages('tables: headers, formatted cells, numeric columns right-aligned', () => {
  const html = htmlReport({
    title: 't',
    precision: 3,
    blocks: [table(
      ['estimator', { label: 'variance', precision: 2 }, { label: 'time (ms)', decimals: 1 }, 'bias', 'samples'],
      [
        ['reinforce', 0.0213456, 1.2345, { value: 0.0012345, error: 0.000456 }, 1000],
        ['relax', 3.1e-5, 10, null, 1000],
        ['gumbel', NaN, -0.04, { value: -0.5 }, 2000],
      ],
      { caption: 'Categorical <K = 10>' },
    )],
  });
  const tags = parseHtml(html);
  assert.equal(named(tags, 'th').map((t) => t.text), ['estimator', 'variance', 'time (ms)', 'bias', 'samples']);
  const cells = named(tags, 'td').map((t) => t.text);
  assert.equal(cells, [
    'reinforce', '0.021', '1.2', '0.00123 ± 4.6e-4', '1000',
    'relax', '3.1e-5', '10.0', '—', '1000',
    'gumbel', 'NaN', '0.0', '-0.500', '2000',
  ]);
  assert.is(named(tags, 'caption')[0].text, 'Categorical &lt;K = 10&gt;');
  const right = named(tags, 'td').slice(0, 5).map((t) => t.attrs.includes('class="num"'));
  assert.equal(right, [false, true, true, true, true]);
});

pages('text is escaped everywhere; backticks mark code only in prose', () => {
  const evil = '<script>alert(1)</script> & "q"';
  const html = htmlReport({
    title: evil,
    blocks: [heading(evil), paragraph(`${evil} \`x < y\``), list([evil]), code(`${evil} \`not code\``), table([evil], [[evil]])],
    footer: evil,
  });
  parseHtml(html);
  assert.not.ok(html.includes('<script'));
  assert.ok(html.includes('<code>x &lt; y</code>'));
  assert.ok(html.includes('`not code`'), 'preformatted text keeps its backticks');
});

pages('figures: the SVG is inlined whole, an XML declaration is dropped', () => {
  const html = htmlReport({ title: 't', blocks: [figure(`<?xml version="1.0" encoding="UTF-8"?>\n${chart}`, 'cap')] });
  assert.ok(html.includes(chart));
  assert.not.ok(html.includes('<?xml'));
  parseHtml(html);
});

pages('a table of contents links the sections when there are three or more', () => {
  const blocks = [heading('A'), paragraph('a'), heading('B & C'), heading('D')];
  const tags = parseHtml(htmlReport({ title: 't', blocks }));
  const links = named(tags, 'a');
  assert.equal(links.map((t) => t.attrs.trim()), ['href="#s1"', 'href="#s2"', 'href="#s3"']);
  assert.equal(links.map((t) => t.text), ['A', 'B &amp; C', 'D']);
  assert.equal(named(tags, 'h2').map((t) => t.attrs.trim()), ['id="s1"', 'id="s2"', 'id="s3"']);
  assert.is(named(parseHtml(htmlReport({ title: 't', blocks, contents: false })), 'nav').length, 0);
  assert.is(named(parseHtml(htmlReport({ title: 't', blocks: blocks.slice(0, 1), contents: true })), 'nav').length, 1);
});

pages('an empty page is still a page', () => {
  const tags = parseHtml(htmlReport({ title: 'nothing yet', blocks: [] }));
  assert.is(named(tags, 'h1').length, 1);
});

pages.run();

// ---------------------------------------------------------------- errors

const errors = suite('report: errors name the function, the block and the values');

errors('malformed blocks are refused', () => {
  throwsWith(() => htmlReport({ title: 't', blocks: [table(['a', 'b'], [['x']])] }), RangeError, /^htmlReport: block 0 \(table\) row 0 has 1 cells but there are 2 columns/);
  throwsWith(() => htmlReport({ title: 't', blocks: [figure('<div>not svg</div>')] }), RangeError, /^htmlReport: block 0 \(figure\) is not an SVG element \(starts with "<div>not svg<\/div>"\)/);
  throwsWith(() => htmlReport({ title: 't', blocks: [{ kind: 'chart' } as never] }), TypeError, /^htmlReport: block 0 has unknown kind "chart"/);
  throwsWith(() => htmlReport({ title: 't', blocks: [table(['a'], [[{ v: 1 } as never]])] }), TypeError, /^htmlReport: block 0 \(table\) row 0 column 'a' must be/);
  throwsWith(() => htmlReport({ title: 't', blocks: [heading('h', 7 as 2)] }), RangeError, /^htmlReport: block 0 heading level must be 1 to 4, got 7/);
  throwsWith(() => htmlReport({ title: 3 as unknown as string, blocks: [] }), TypeError, /^htmlReport: title must be a string, got number/);
  throwsWith(() => htmlReport({ title: 't', blocks: [], precision: 0 }), RangeError, /^htmlReport: precision must be an integer from 1 to 21, got 0/);
  throwsWith(() => htmlReport({ title: 't', blocks: [table([{ label: 'a', decimals: -1 }], [[1]])] }), RangeError, /^htmlReport: block 0 \(table\) column 'a' decimals/);
});

errors.run();
