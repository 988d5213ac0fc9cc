// The command line: exit codes, one-line errors, the JSON shape, and one
// real process so that no stack trace leaks to the terminal.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { main } from '../../cli/mcgrad.ts';

const dir = mkdtempSync(join(tmpdir(), 'mcgrad-cli-'));
function problemFile(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
function run(args: string[]): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(args, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

const categorical = problemFile('cat.json', { family: 'categorical', logits: [0.1, -0.3, 0.7], f: { kind: 'table', values: [1.0, 0.2, -0.5] } });
const normal = problemFile('normal.json', { family: 'normal', loc: [0.5], scale: [1.0], f: { kind: 'quadratic', target: [2.0] } });

const check = suite('cli: mcgrad check');

check('--json gives one object with the fields of the issue', () => {
  const { code, out } = run(['check', '--problem', categorical, '--estimator', 'reinforce-rloo', '--samples', '4000', '--seed', '3', '--json']);
  assert.is(code, 0);
  assert.is(out.length, 1);
  const result = JSON.parse(out[0]);
  assert.is(result.estimator, 'reinforce-rloo');
  assert.is(result.coordinates.length, 3);
  for (const c of result.coordinates) for (const key of ['mean', 'exact', 'stderr', 'z', 'variance']) assert.type(c[key], 'number');
  assert.type(result.unbiasedVerdict, 'boolean');
  assert.ok(result.microsecondsPerEstimate > 0);
});

check('a readable table with a verdict', () => {
  const { code, out } = run(['check', '--problem', normal, '--estimator', 'pathwise', '--samples', '2000']);
  assert.is(code, 0);
  const text = out.join('\n');
  assert.match(text, /loc\[0\]/);
  assert.match(text, /scale\[0\]/);
  assert.match(text, /no bias detected|BIASED/);
});

check('mistakes give one line and exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['check', '--problem', join(dir, 'missing.json'), '--estimator', 'rebar'], /^mcgrad: cannot read problem file .*missing\.json': ENOENT$/],
    [['check', '--problem', problemFile('bad.json', '{ not json'), '--estimator', 'rebar'], /^mcgrad: problem file .* is not valid JSON/],
    [['check', '--problem', problemFile('nofam.json', { logits: [0] }), '--estimator', 'rebar'], /^mcgrad: .*parseProblem: /],
    [['check', '--problem', categorical, '--estimator', 'nope'], /^mcgrad: unknown estimator 'nope'; choose one of: reinforce, /],
    [['check', '--problem', normal, '--estimator', 'rebar'], /^mcgrad: rebar does not support the normal family \(it supports bernoulli, categorical\)$/],
    [['check', '--problem', categorical], /^mcgrad: check needs --estimator NAME$/],
    [['check', '--problem', categorical, '--estimator', 'rebar', '--samples', 'many'], /^mcgrad: --samples must be an integer ≥ 2, got 'many'$/],
    [['check', '--bogus'], /^mcgrad: unknown option --bogus$/],
    [['frobnicate'], /^mcgrad: unknown command 'frobnicate'$/],
  ];
  for (const [args, pattern] of cases) {
    const { code, err } = run(args);
    assert.is(code, 2, args.join(' '));
    assert.is(err.length, 1, args.join(' '));
    assert.ok(!err[0].includes('\n'), 'one line');
    assert.match(err[0], pattern);
  }
});

check('a real process: exit code 2 and no stack trace', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'cli/mcgrad.ts', 'check', '--problem', normal, '--estimator', 'relax'], { encoding: 'utf8' });
  assert.is(result.status, 2);
  assert.is(result.stdout, '');
  assert.is(result.stderr.trim().split('\n').length, 1);
  assert.not.match(result.stderr, /at .*\.ts:\d+/);
});

check.run();

const compare = suite('cli: mcgrad compare');

compare('--json and --svg on a problem file', () => {
  const svg = join(dir, 'out', 'cmp.svg');
  const { code, out } = run(['compare', '--problem', categorical, '--estimators', 'reinforce,exact,gumbel-softmax', '--samples', '2000', '--json', '--svg', svg]);
  assert.is(code, 0);
  const result = JSON.parse(out[0]);
  assert.equal(result.estimators.map((r: { estimator: string }) => r.estimator), ['reinforce', 'exact', 'gumbel-softmax']);
  assert.ok(existsSync(svg));
  assert.match(readFileSync(svg, 'utf8'), /^<svg/);
});

compare('an estimator that does not fit the family is a usage error', () => {
  const { code, err } = run(['compare', '--problem', normal, '--estimators', 'pathwise,arm']);
  assert.is(code, 2);
  assert.match(err[0], /arm does not support the normal family/);
});

compare.run();

const structured = suite('cli: structured families (subset, spanning-tree)');

structured('check and compare accept the example subset and spanning-tree problems', () => {
  for (const file of ['examples/problems/subset.json', 'examples/problems/spanning-tree.json']) {
    const checked = run(['check', '--problem', file, '--estimator', 'reinforce-structure-rloo', '--samples', '2000', '--json']);
    assert.is(checked.code, 0, file);
    const result = JSON.parse(checked.out[0]);
    assert.ok(result.coordinates.length >= 5 && result.coordinates.every((c: { exact: number }) => Number.isFinite(c.exact)), file);
    const compared = run(['compare', '--problem', file, '--samples', '600', '--json']);
    assert.is(compared.code, 0, file);
    const names = JSON.parse(compared.out[0]).estimators.map((r: { estimator: string }) => r.estimator);
    assert.equal(names, ['sst', 'st-sst', 'reinforce-structure', 'reinforce-structure-rloo', 'reinforce-noise', 'reinforce-noise-rloo'], file);
  }
});

structured('structured estimators and families do not mix with the others', () => {
  const subsetFile = 'examples/problems/subset.json';
  const a = run(['check', '--problem', subsetFile, '--estimator', 'reinforce']);
  assert.is(a.code, 2);
  assert.match(a.err[0], /^mcgrad: reinforce does not support the subset family/);
  const b = run(['check', '--problem', categorical, '--estimator', 'sst']);
  assert.is(b.code, 2);
  assert.match(b.err[0], /^mcgrad: sst does not support the categorical family \(it supports subset, spanning-tree\)$/);
});

structured.run();
