// The command line: exit codes, one-line errors, the JSON shape, and one
// real process so that no stack trace leaks to the terminal.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { main, parseFlags, reportFailure, distOf, readProblem, UsageError } from '../../cli/mcgrad.ts';
import { largestCall } from '../../cli/compare.ts';
import { fewestSamples } from '../../estimators/check.ts';
import { parseProblem } from '../../lib/problem.ts';
import { estimators } from '../../estimators/registry.ts';
import { checkUnbiased } from '../../estimators/check.ts';
import { zeros, sum, type Tensor } from '../../autodiff/index.ts';
import { Refusal } from '../../lib/exact.ts';
import { rng } from '../../lib/random.ts';
import { bernoulli as bernoulliDist, categorical as categoricalDist } from '../../estimators/families.ts';
import { exact } from '../../estimators/exact-estimator.ts';
import { sumAndSample } from '../../estimators/conditioning.ts';
import { thrown } from '../harness/thrown.ts';

const dir = mkdtempSync(join(tmpdir(), 'mcgrad-cli-'));
function problemFile(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
/** A string matched literally inside a RegExp. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
    [['check', '--problem', categorical, '--estimator', 'rebar', '--samples', 'many'], /^mcgrad: --samples must be an integer from 2 to 10000000, got 'many'$/],
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

// ---------------------------------------------------------------- robustness: bad input never shows a stack trace

const robust = suite('cli: bad input is one line and exit code 2');

/** Exit code 2, nothing else on stderr, one line, no stack frame. */
function assertUsageError(args: string[], pattern: RegExp): void {
  const { code, err } = run(args);
  const label = args.join(' ');
  assert.is(code, 2, label);
  assert.is(err.length, 1, label);
  assert.ok(!err[0].includes('\n'), `one line: ${label}`);
  assert.not.match(err[0], /\bat .*\.ts:\d+/, label);
  assert.match(err[0], pattern, label);
}

const bernoullis23 = problemFile('b23.json', { family: 'bernoulli', logits: Array.from({ length: 23 }, (_, j) => 0.1 * (j - 11)), f: { kind: 'quadratic', target: Array(23).fill(0.5) } });
const categorical2000 = problemFile('cat2000.json', { family: 'categorical', logits: Array(2000).fill(0), f: { kind: 'quadratic', target: Array(2000).fill(0) } });

robust('integer flags have a range, and the error names the flag, the value and the range', () => {
  const cases: [string[], RegExp][] = [
    [['check', '--problem', normal, '--estimator', 'pathwise', '--samples', '1e12'], /^mcgrad: --samples must be an integer from 2 to 10000000, got '1e12'$/],
    [['compare', '--problem', normal, '--estimators', 'pathwise', '--samples', '1e12'], /^mcgrad: --samples must be an integer from 2 to 10000000, got '1e12'$/],
    // one sample gives no variance
    [['check', '--problem', normal, '--estimator', 'pathwise', '--samples', '1'], /^mcgrad: --samples must be an integer from 2 to 10000000, got '1'$/],
    [['compare', '--problem', normal, '--estimators', 'pathwise', '--samples', '1'], /^mcgrad: --samples must be an integer from 2 to 10000000, got '1'$/],
    // checkUnbiased needs two calls of 8 samples for leave-one-out estimators
    [['compare', '--problem', categorical, '--estimators', 'reinforce-rloo', '--samples', '8'], /^mcgrad: reinforce-rloo needs --samples 16 or more: its samples share a baseline, so it gives one estimate per call of 8, and a variance needs two$/],
    [['check', '--problem', categorical, '--estimator', 'reinforce-antithetic', '--samples', '15'], /^mcgrad: reinforce-antithetic needs --samples 16 or more: /],
    [['check', '--problem', normal, '--estimator', 'pathwise', '--samples', '16', '--seed', '99999999999999999999'], /^mcgrad: --seed must be an integer from 0 to 9007199254740991, got '99999999999999999999'$/],
    [['compare', '--problem', normal, '--estimators', 'pathwise', '--samples', '16', '--seed', '-1'], /^mcgrad: --seed must be an integer from 0 to 9007199254740991, got '-1'$/],
    // Number('') is 0: an empty value must not pass as seed 0
    [['check', '--problem', normal, '--estimator', 'pathwise', '--samples', '16', '--seed='], /^mcgrad: --seed must be an integer from 0 to 9007199254740991, got ''$/],
    [['compare', '--samples', '16', '--steps', '1e9'], /^mcgrad: --steps must be an integer from 100 to 1000000, got '1e9'$/],
    // every estimate is kept: 10^7 samples × 2000 coordinates would be 160 GB
    [['check', '--problem', categorical2000, '--estimator', 'reinforce', '--samples', '1e7'], /^mcgrad: --samples 10000000 × 2000 coordinates = 20000000000 estimates to keep, over the limit of 2\^27 = 134217728 \(1 GiB\); use --samples 67108 or fewer$/],
    [['compare', '--problem', categorical2000, '--estimators', 'reinforce', '--samples', '1e7'], /^mcgrad: --samples 10000000 × 2000 coordinates .* use --samples 67108 or fewer$/],
  ];
  for (const [args, pattern] of cases) assertUsageError(args, pattern);
});

robust('in-range integers are accepted, in exponent notation too', () => {
  const { code, out } = run(['check', '--problem', normal, '--estimator', 'pathwise', '--samples', '1.6e1', '--seed', '9007199254740991', '--json']);
  assert.is(code, 0);
  const result = JSON.parse(out[0]);
  assert.is(result.samples, 16);
  assert.is(result.seed, 9007199254740991);
});

robust('2 to 15 samples: check runs, compare skips in one stderr line the estimators whose samples share a baseline', () => {
  const checked = run(['check', '--problem', normal, '--estimator', 'pathwise', '--samples', '2', '--json']);
  assert.is(checked.code, 0, checked.err.join('\n'));
  const result = JSON.parse(checked.out[0]);
  assert.is(result.samples, 2);
  for (const c of result.coordinates) assert.ok(Number.isFinite(c.stderr) && c.stderr > 0, `${c.name}: stderr ${c.stderr}`);
  const { code, out, err } = run(['compare', '--problem', categorical, '--samples', '15', '--json']);
  assert.is(code, 0, err.join('\n'));
  assert.equal(err, ['mcgrad: skipping reinforce-rloo, reinforce-antithetic, whose samples share a baseline: with one estimate per call of 8, a variance needs --samples 16 or more']);
  const rows = JSON.parse(out[0]).estimators as { estimator: string; samples: number }[];
  assert.ok(rows.length > 10 && rows.every((r) => r.samples === 15), rows.map((r) => `${r.estimator}: ${r.samples}`).join(', '));
});

robust('fewestSamples is the rule checkUnbiased applies, for every estimator', () => {
  const problems = [categorical, normal, 'examples/problems/subset.json'].map((file) => parseProblem(JSON.parse(readFileSync(file, 'utf8'))));
  const bernoulli = parseProblem({ family: 'bernoulli', logits: [0.2], f: { kind: 'quadratic', target: [0.5] } });
  for (const e of estimators) {
    const problem = [...problems, bernoulli].find((p) => e.families.includes(p.family));
    assert.ok(problem !== undefined, e.name);
    const exactGradient = problem.exact!.gradient() as unknown as Record<string, Tensor>;
    const fewest = fewestSamples(e);
    assert.throws(() => checkUnbiased(e, { dist: distOf(problem), f: problem.f, exactGradient }, { samples: fewest - 1 }), new RegExp(`^checkUnbiased: ${fewest - 1} samples are too few \\(need at least ${fewest}\\)$`), e.name);
  }
});

robust('compare skips, in one stderr line, the estimators that cannot run on 23 Bernoullis', () => {
  const { code, out, err } = run(['compare', '--problem', bernoullis23, '--samples', '16', '--json']);
  assert.is(code, 0);
  assert.is(err.length, 1);
  assert.ok(!err[0].includes('\n'), 'one line');
  assert.match(err[0], /^mcgrad: skipping exact, sum-and-sample, which cannot run on this problem: exact: the bernoulli support of event shape \[23\] has 2\^23 outcomes, .*; sumAndSample: /);
  const names = JSON.parse(out[0]).estimators.map((r: { estimator: string }) => r.estimator);
  assert.ok(names.includes('reinforce') && names.includes('rao-blackwell'), names.join(','));
  assert.ok(!names.includes('exact') && !names.includes('sum-and-sample'), names.join(','));
});

robust('an estimator asked for by name that refuses the problem is a usage error', () => {
  assertUsageError(['check', '--problem', bernoullis23, '--estimator', 'exact', '--samples', '16'], /^mcgrad: exact cannot run on this problem: exact: the bernoulli support of event shape \[23\] has 2\^23 outcomes, too many to enumerate/);
  assertUsageError(['check', '--problem', bernoullis23, '--estimator', 'sum-and-sample', '--samples', '16'], /^mcgrad: sum-and-sample cannot run on this problem: sumAndSample: the bernoulli support of event shape \[23\] is too large/);
  // refused before reinforce spends any time
  assertUsageError(['compare', '--problem', bernoullis23, '--estimators', 'reinforce,exact', '--samples', '16'], /^mcgrad: exact cannot run on this problem: exact: /);
});

robust('a real process: an estimator refusing the problem gives exit code 2 and no stack trace', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'cli/mcgrad.ts', 'check', '--problem', bernoullis23, '--estimator', 'exact', '--samples', '16'], { encoding: 'utf8' });
  assert.is(result.status, 2);
  assert.is(result.stdout, '');
  assert.is(result.stderr.trim().split('\n').length, 1);
  assert.not.match(result.stderr, /at .*\.ts:\d+/);
});

robust('usage errors and the estimators\' refusals (the class Refusal) are one line and exit code 2; any other error, a RangeError too, is rethrown', () => {
  const err: string[] = [];
  assert.is(reportFailure(new UsageError('check needs\n  --problem FILE'), (l) => err.push(l)), 2);
  const refused = 'exact: the bernoulli support of event shape [23] has 2^23 outcomes, too many to enumerate (limit 4194304); use a Monte Carlo estimator such as reinforce-rloo';
  assert.is(reportFailure(new Refusal(refused), (l) => err.push(l)), 2);
  const fromExact = thrown(() => exact(bernoulliDist(zeros([23])), (x: Tensor) => sum(x, 1), rng(0)));
  assert.is(reportFailure(fromExact, (l) => err.push(l)), 2);
  assert.equal(err, ['mcgrad: check needs --problem FILE', `mcgrad: ${refused}`, `mcgrad: ${refused}`]);
  const bugs = [
    // the class decides, not the text: the same message in a plain RangeError is a bug
    new RangeError(refused),
    // a bad option the CLI never passes, thrown by an estimator that refuses other problems
    thrown(() => sumAndSample(categoricalDist(zeros([3])), (x: Tensor) => sum(x, 1), rng(0), { k: -1 })),
    // the CLI never passes rng a bad seed (--seed is checked first), nor reshape a bad shape
    new RangeError('rng: seed must be an integer with |seed| ≤ 2^53 − 1, got 0.5'),
    new RangeError('reshape: cannot reshape [3] to [2]'),
    new TypeError('x is not a function'),
  ];
  for (const bug of bugs) {
    assert.throws(() => reportFailure(bug, () => {}), (e: unknown) => e === bug, String(bug));
  }
  assert.is(err.length, 3, 'nothing printed for a bug');
});

robust('an internal RangeError in an estimator is not reported as a usage error, in the trial call or in the run', () => {
  const reinforce = estimators.find((e) => e.name === 'reinforce')!;
  const surrogate = reinforce.surrogate;
  const bug = new RangeError('reshape: cannot reshape [8,3] to [3,7] (an injected engine bug)');
  for (const failingCall of [1, 2]) {
    for (const args of [['check', '--problem', categorical, '--estimator', 'reinforce', '--samples', '16'], ['compare', '--problem', categorical, '--samples', '16']]) {
      let calls = 0;
      reinforce.surrogate = (...a) => {
        if (++calls === failingCall) throw bug;
        return surrogate.apply(reinforce, a);
      };
      const err: string[] = [];
      try {
        assert.throws(() => main(args, () => {}, (l) => err.push(l)), (e: unknown) => e === bug, `${args[0]}, call ${failingCall}`);
      } finally {
        reinforce.surrogate = surrogate;
      }
      // compare would once have skipped reinforce as unable to run on the problem
      assert.equal(err, [], `${args[0]}, call ${failingCall}`);
    }
  }
});


robust('--svg naming a directory is one line and exit code 2, as an unreadable problem file is', () => {
  assertUsageError(['compare', '--problem', categorical, '--estimators', 'reinforce', '--samples', '16', '--svg', dir], /^mcgrad: cannot write '.*mcgrad-cli-[^']*': EISDIR$/);
  assertUsageError(['compare', '--problem', categorical, '--estimators', 'reinforce', '--samples', '16', '--svg', join(categorical, 'chart.svg')], /^mcgrad: cannot write '.*cat\.json': (ENOTDIR|EEXIST)$/);
});

robust('--report naming a file is refused before the suite runs', () => {
  const { code, out, err } = run(['compare', '--report', categorical, '--samples', '16', '--quiet']);
  assert.is(code, 2);
  assert.equal(out, []);
  assert.equal(err.length, 1);
  assert.match(err[0], /^mcgrad: cannot write '.*cat\.json': (ENOTDIR|EEXIST)$/);
});

robust('--name=value splits at the first = only', () => {
  assert.equal(parseFlags(['--problem=a=b', '--json'], { problem: 'value', json: 'flag' }), { problem: 'a=b', json: true });
  const withEquals = problemFile('loc=0.5.json', { family: 'normal', loc: [0.5], scale: [1.0], f: { kind: 'quadratic', target: [2.0] } });
  const { code, err } = run(['check', `--problem=${withEquals}`, '--estimator', 'pathwise', '--samples', '16']);
  assert.is(code, 0, err.join('\n'));
});

robust.run();

// ---------------------------------------------------------------- refusals that depend on the samples per call

const sized = suite('cli: an estimator that cannot run at the sizes of the run (arsm, K = 60)');

// arsm refuses n·K³ > 2^30 numbers of pseudo-actions in one call: at K = 60, calls of 4972 samples or more.
const categorical60 = 'spec/fixtures/categorical-60.json';
const arsmAt = (n: number) => `arsm: n·K² pseudo-actions of 60 numbers each make ${n * 216000} numbers (n = ${n}, K = 60), over the limit of 2^30; use fewer samples per call, or 'ar' (one evaluation of f per sample)`;

sized('compare without --estimators skips arsm, with its reason, when the run would call it with too many samples, and completes', () => {
  // the fewest samples whose calls arsm refuses: the run's calls are of min(8192, --samples)
  const { code, out, err } = run(['compare', '--problem', categorical60, '--samples', '4972', '--json']);
  assert.is(code, 0, err.join('\n'));
  assert.equal(err, [`mcgrad: skipping arsm, which cannot run on this problem: ${arsmAt(4972)}`]);
  const names = JSON.parse(out[0]).estimators.map((r: { estimator: string }) => r.estimator);
  assert.equal(names, estimators.filter((e) => e.families.includes('categorical') && e.name !== 'arsm').map((e) => e.name));
});

sized('arsm named, by compare or check, is one line and exit code 2 before any estimator runs', () => {
  assertUsageError(['compare', '--problem', categorical60, '--estimators', 'arsm', '--samples', '4972'], new RegExp(`^mcgrad: arsm cannot run on this problem: ${escape(arsmAt(4972))}$`));
  assertUsageError(['compare', '--problem', categorical60, '--estimators', 'reinforce,arsm'], new RegExp(`^mcgrad: arsm cannot run on this problem: ${escape(arsmAt(8192))}$`));
  assertUsageError(['check', '--problem', categorical60, '--estimator', 'arsm'], new RegExp(`^mcgrad: arsm cannot run on this problem: ${escape(arsmAt(8192))}$`));
});

sized('with calls small enough arsm runs on K = 60: the trial is not of 8192 samples whatever --samples', () => {
  const { code, out, err } = run(['compare', '--problem', categorical60, '--estimators', 'arsm', '--samples', '16', '--json']);
  assert.is(code, 0, err.join('\n'));
  assert.equal(err, []);
  assert.equal(JSON.parse(out[0]).estimators.map((r: { estimator: string }) => r.estimator), ['arsm']);
});

sized('largestCall is the most samples checkUnbiased gives an estimator in one call, its timing calls included', () => {
  const problem = readProblem(categorical);
  const exactGradient = problem.exact!.gradient() as unknown as Record<string, Tensor>;
  for (const name of ['reinforce', 'reinforce-rloo']) {
    const estimator = estimators.find((e) => e.name === name)!;
    const surrogate = estimator.surrogate;
    for (const samples of [16, 100, 9000]) {
      let most = 0;
      estimator.surrogate = (dist, f, r, options) => {
        most = Math.max(most, options?.n ?? 1);
        return surrogate.call(estimator, dist, f, r, options);
      };
      try {
        checkUnbiased(estimator, { dist: distOf(problem), f: problem.f, exactGradient }, { samples, time: true });
      } finally {
        estimator.surrogate = surrogate;
      }
      assert.is(largestCall(estimator, samples), most, `${name}, ${samples} samples`);
    }
  }
});

sized.run();
