// The main job (`npm start`, or `mcgrad compare` with no problem), run once
// in-process with 16 samples (the fewest that run every estimator, those whose
// samples share a baseline included) and the fewest steps the flags allow: the report is
// a well-formed page with one table per built-in problem naming every
// estimator that supports its family, and the toy problem's training figures
// (exact loss, log-variance) with a line for each of REINFORCE, REBAR and
// RELAX; progress goes to stderr, the tables to stdout.
//
// The run takes about ten seconds however few the samples: compare times each
// of the ~70 estimators after 100 ms of warm-up (estimators/check.ts).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/mcgrad.ts';
import { SUITE } from '../../cli/suite.ts';
import { parseProblem } from '../../lib/problem.ts';
import { estimators } from '../../estimators/registry.ts';

// ---------------------------------------------------------------- a small reader for the report page

interface Node {
  name: string;
  attrs: Record<string, string>;
  /** Text directly inside the element, entities decoded. */
  text: string;
  /** Index of the enclosing element in the list, -1 for the root. */
  parent: number;
}

// HTML elements that have no closing tag; inside <svg> every element must be closed (XML rules).
const VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
const REFERENCE = /&(amp|lt|gt|quot|apos|#\d+|#x[\da-fA-F]+);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const TOKEN = /<!--[\s\S]*?-->|<[^<>]*>|[^<]+/y;
const TAG = /^<(\/?)([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"]*")*)\s*(\/?)>$/;
const ATTRIBUTE = /([A-Za-z_:][\w:.-]*)="([^"]*)"/g;

/** Entity references decoded; a bare & is an error. */
function decoded(raw: string, where: string): string {
  if (raw.replace(REFERENCE, '').includes('&')) throw new Error(`page: bare & in ${where}: ${JSON.stringify(raw.slice(0, 60))}`);
  return raw.replace(REFERENCE, (_, ref: string) => NAMED[ref] ?? String.fromCodePoint(Number(ref.startsWith('#x') ? `0x${ref.slice(2)}` : ref.slice(1))));
}

/**
 * Reads an HTML page with inline SVG, throwing at the first fault: a missing
 * doctype, a malformed or unbalanced tag, an unquoted or repeated attribute, a
 * bare & or <, text outside the root, a second root. Void HTML elements need
 * no closing tag; within <svg>, XML's rules hold (closed or self-closing).
 */
function readPage(page: string): Node[] {
  const doctype = /^<!DOCTYPE html>\s*/i.exec(page);
  if (!doctype) throw new Error('page: no <!DOCTYPE html>');
  const nodes: Node[] = [];
  const open: number[] = [];
  const inSvg = () => open.some((i) => nodes[i].name === 'svg');
  TOKEN.lastIndex = doctype[0].length;
  while (TOKEN.lastIndex < page.length) {
    const at = TOKEN.lastIndex;
    const token = TOKEN.exec(page);
    if (token === null) throw new Error(`page: a bare < at ${at}: ${JSON.stringify(page.slice(at, at + 40))}`);
    const text = token[0];
    if (text.startsWith('<!--')) continue;
    if (!text.startsWith('<')) {
      if (text.trim() === '') continue;
      if (open.length === 0) throw new Error(`page: text outside the root: ${JSON.stringify(text.slice(0, 40))}`);
      nodes[open[open.length - 1]].text += decoded(text, 'text');
      continue;
    }
    const tag = TAG.exec(text);
    if (tag === null) throw new Error(`page: malformed tag ${JSON.stringify(text.slice(0, 60))}`);
    const [, closing, name, attrText, selfClosing] = tag;
    if (closing) {
      if (attrText !== '' || selfClosing) throw new Error(`page: malformed closing tag ${text}`);
      const top = open.pop();
      if (top === undefined || nodes[top].name !== name) throw new Error(`page: </${name}> closes <${top === undefined ? 'nothing' : nodes[top].name}>`);
      continue;
    }
    if (open.length === 0 && nodes.length > 0) throw new Error(`page: a second root <${name}>`);
    if (selfClosing && !inSvg() && name !== 'svg') throw new Error(`page: <${name}/> is not closed in HTML`);
    const attrs: Record<string, string> = {};
    for (const [, key, value] of attrText.matchAll(ATTRIBUTE)) {
      if (key in attrs) throw new Error(`page: <${name}> repeats ${key}`);
      attrs[key] = decoded(value, `<${name} ${key}>`);
    }
    nodes.push({ name, attrs, text: '', parent: open.length === 0 ? -1 : open[open.length - 1] });
    const isVoid = !inSvg() && VOID_ELEMENTS.has(name);
    if (!selfClosing && !isVoid) open.push(nodes.length - 1);
  }
  if (open.length > 0) throw new Error(`page: <${nodes[open[open.length - 1]].name}> is not closed`);
  if (nodes.length === 0 || nodes[0].name !== 'html') throw new Error('page: no <html> root');
  return nodes;
}

const childrenOf = (nodes: Node[], index: number) => nodes.map((n, i) => (n.parent === index ? i : -1)).filter((i) => i >= 0);
function isInside(nodes: Node[], index: number, ancestor: number): boolean {
  for (let p = nodes[index].parent; p >= 0; p = nodes[p].parent) if (p === ancestor) return true;
  return false;
}

const reader = suite('suite report: the spec page reader rejects malformed pages');

reader('accepts a good page and rejects broken ones', () => {
  const good = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body><p>a &amp; b</p><svg xmlns="x"><rect/><text>1 &lt; 2</text></svg></body></html>';
  const nodes = readPage(good);
  assert.equal(nodes.map((n) => n.name), ['html', 'head', 'meta', 'body', 'p', 'svg', 'rect', 'text']);
  assert.is(nodes[4].text, 'a & b');
  assert.is(nodes[7].text, '1 < 2');
  const bad = [
    '<html></html>',
    '<!DOCTYPE html><html><p><b></p></b></html>',
    '<!DOCTYPE html><html><p></html>',
    '<!DOCTYPE html><html><p>a & b</p></html>',
    '<!DOCTYPE html><html><p>a < b</p></html>',
    '<!DOCTYPE html><html><p x=1></p></html>',
    '<!DOCTYPE html><html><p x="1" x="2"></p></html>',
    '<!DOCTYPE html><html><div/></html>',
    '<!DOCTYPE html><html><svg><rect></svg></html>',
    '<!DOCTYPE html><html></html><html></html>',
    '<!DOCTYPE html>text<html></html>',
  ];
  for (const page of bad) assert.throws(() => readPage(page), undefined, page);
});

reader.run();

// ---------------------------------------------------------------- one run of the suite

interface SuiteRun {
  code: number;
  stdout: string[];
  /** What main reports through its error channel (skipped estimators, failures). */
  notes: string[];
  /** What went to process.stderr directly (the progress lines). */
  stderr: string[];
  page: string;
}

let ran: SuiteRun | undefined;

/** `mcgrad compare --samples 16 --steps 100 --report DIR`, once, with process.stderr captured. */
function suiteRun(): SuiteRun {
  if (ran !== undefined) return ran;
  const dir = mkdtempSync(join(tmpdir(), 'mcgrad-suite-'));
  const stdout: string[] = [];
  const notes: string[] = [];
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    code = main(['compare', '--samples', '16', '--steps', '100', '--seed', '1', '--report', dir], (l) => stdout.push(l), (l) => notes.push(l));
  } finally {
    process.stderr.write = write;
  }
  const stderr = written.join('').split('\n').filter((l) => l !== '');
  ran = { code, stdout, notes, stderr, page: readFileSync(join(dir, 'index.html'), 'utf8') };
  return ran;
}

/** How a comparison table names an estimator. */
const label = (e: { name: string; unbiased: boolean }) => (e.unbiased ? e.name : `${e.name} (biased)`);

/** Every estimator that supports the problem's family, in the registry's order (none of them refuses a built-in problem). */
function applicable(json: unknown): string[] {
  const family = parseProblem(json).family;
  return estimators.filter((e) => e.families.includes(family)).map(label);
}

const run = suite('suite: npm start (mcgrad compare without a problem)');

run('finishes with exit code 0 and skips no estimator', () => {
  const { code, notes } = suiteRun();
  assert.is(code, 0);
  assert.equal(notes, []);
});

run('progress lines go to stderr, the tables to stdout', () => {
  const { stdout, stderr } = suiteRun();
  const steps = SUITE.length + 1;
  const numbered = stderr.filter((l) => /^\[\d+\/\d+\] /.test(l));
  assert.equal(numbered.map((l) => l.slice(0, l.indexOf(']') + 1)), Array.from({ length: steps }, (_, i) => `[${i + 1}/${steps}]`));
  SUITE.forEach(({ name }, i) => assert.ok(numbered[i].startsWith(`[${i + 1}/${steps}] ${name}: `), numbered[i]));
  assert.match(numbered[steps - 1], /training on the toy problem: REINFORCE, REBAR, RELAX, 100 steps each/);
  for (const estimator of ['reinforce', 'rebar', 'relax']) assert.ok(stderr.includes(`  ${estimator}: step 0`), `${estimator} progress`);
  const out = stdout.join('\n');
  assert.not.match(out, /^\s*\[\d+\/\d+\]|: step \d+$/m, 'no progress on stdout');
  assert.not.match(stderr.join('\n'), /^estimator\s|\|bias\|/m, 'no table on stderr');

  // One table per problem, right after its heading line, with a row for every applicable estimator.
  for (const { name, json } of SUITE) {
    const heading = stdout.findIndex((l) => l.startsWith(`\n${name}: `));
    assert.ok(heading >= 0, `a heading for ${name}`);
    const [header, ...rows] = stdout[heading + 1].split('\n');
    assert.match(header, /^estimator\s/, name);
    assert.equal(rows.map((r) => r.split(/\s{2,}/)[0]), applicable(json), name);
  }
  assert.ok(out.includes('RELAX toy problem, training'), 'the training summary');
  assert.match(stdout[stdout.length - 1], /^\nwrote .*mcgrad-suite-[^/]*\/index\.html$/);
});

run('the report is a well-formed page with one table per built-in problem naming every applicable estimator', () => {
  const nodes = readPage(suiteRun().page);
  const headings = nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.name === 'h2');
  assert.equal(headings.map(({ n }) => n.text), [...SUITE.map((p) => p.name), 'Training on the RELAX toy problem']);
  /** Indices of the elements called `name` strictly between two indices. */
  const between = (name: string, from: number, to: number) => nodes.map((n, i) => (n.name === name && i > from && i < to ? i : -1)).filter((i) => i >= 0);
  SUITE.forEach(({ name, json }, k) => {
    const tables = between('table', headings[k].i, headings[k + 1].i);
    assert.is(tables.length, 1, name);
    const body = nodes.findIndex((n) => n.name === 'tbody' && n.parent === tables[0]);
    const firstCells = childrenOf(nodes, body).map((tr) => nodes[childrenOf(nodes, tr)[0]].text);
    assert.equal(firstCells, applicable(json), name);
    // and one figure: the problem's chart
    assert.is(between('figure', headings[k].i, headings[k + 1].i).length, 1, name);
  });
  for (const svg of nodes.filter((n) => n.name === 'svg')) assert.is(svg.attrs.xmlns, 'http://www.w3.org/2000/svg');
});

run('the training figures: exact loss and log-variance, a line for each of REINFORCE, REBAR and RELAX', () => {
  const nodes = readPage(suiteRun().page);
  const chart = (title: string) => {
    const index = nodes.findIndex((n) => n.name === 'title' && n.text.startsWith(title) && nodes[n.parent].name === 'svg');
    assert.ok(index >= 0, `a chart titled ${title}`);
    return nodes[index].parent;
  };
  for (const svg of [chart('RELAX toy problem: exact loss'), chart('RELAX toy problem: variance of one gradient estimate')]) {
    const series = nodes.map((n, i) => ({ n, i })).filter(({ n, i }) => n.name === 'path' && n.attrs.class === 'series' && isInside(nodes, i, svg));
    assert.equal(series.map(({ n }) => n.attrs['data-name']), ['reinforce', 'rebar', 'relax']);
    // 100 steps, logged every 2: 51 points per line.
    for (const { n } of series) assert.is((n.attrs.d.match(/[ML]/g) ?? []).length, 51, n.attrs['data-name']);
  }
  // The variance axis is logarithmic: its major ticks are successive powers of ten.
  const variance = chart('RELAX toy problem: variance of one gradient estimate');
  const ticks = nodes
    .filter((n, i) => n.attrs.class === 'tick major' && isInside(nodes, i, variance) && (nodes[n.parent].attrs.class ?? '').includes('axis-y'))
    .map((n) => Math.log10(Number(n.attrs['data-value'])));
  assert.ok(ticks.length >= 2, `${ticks.length} major ticks`);
  ticks.forEach((t, i) => assert.ok(Math.abs(t - (ticks[0] + i)) < 1e-9, `log10 of the ticks: ${ticks.join(', ')}`));
});

run.run();
