// Every script in examples/ runs as a user would run it (a child process with
// tsx, from the repository root) and exits 0. MCGRAD_QUICK=1 makes each use
// fewer steps and samples, so each takes a second or two (a new example must
// honour it too: this file runs whatever examples/ holds). Where an example
// demonstrates a claim, the claim is checked on its printed output; the
// examples use fixed seeds, so these checks are deterministic.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(file: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join('examples', file)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, MCGRAD_QUICK: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The number after `label` on the line that starts with `prefix`. */
function numberOn(stdout: string, prefix: RegExp, label = ''): number {
  const line = stdout.split('\n').find((l) => prefix.test(l));
  assert.ok(line !== undefined, `no line matching ${prefix}`);
  const rest = label === '' ? line!.replace(prefix, '') : line!.slice(line!.indexOf(label) + label.length);
  const value = Number(rest.trim().split(/\s+/)[0]);
  assert.ok(Number.isFinite(value), `no number after ${label || prefix} in: ${line}`);
  return value;
}

/** What each example must print, beyond exiting 0. */
const expectations: Record<string, (stdout: string) => void> = {
  'toy-problem.ts': (out) => {
    // The figure-1 shape: RELAX's variance falls by orders of magnitude, REINFORCE's does not.
    const last = (name: string) => Number(out.match(new RegExp(`^  ${name}\\s+\\S+ → (\\S+)`, 'm'))![1]);
    assert.ok(last('relax') < last('reinforce') / 100, `relax ${last('relax')} vs reinforce ${last('reinforce')}`);
    assert.match(out, /wrote report\/examples\/toy-problem\.svg/);
  },
  'reparameterization-vs-score-function.ts': (out) => {
    // Xu et al. 2018: pathwise variance below the score function's, for both parameters.
    for (const param of ['μ', 'σ']) {
      const variance = (name: string) => Number(out.match(new RegExp(`^${name}\\s+${param}\\s+\\S+ ± \\S+\\s+(\\S+)`, 'm'))![1]);
      assert.ok(variance('pathwise') < variance('reinforce'), param);
    }
    assert.match(out, /wrote report\/examples\/reparameterization-vs-score-function\.svg/);
  },
  'check-your-estimator.ts': (out) => {
    assert.match(out, /my-reinforce \(buggy\)[^]*?verdict: BIASED/);
    assert.match(out, /my-reinforce \(fixed\)[^]*?verdict: no evidence of bias/);
    assert.match(out, /with only \d+ samples the buggy estimator gets: no evidence of bias/);
  },
  'upstream-gradients.ts': (out) => {
    // Both trainings lower the exact loss from its starting value.
    for (const part of out.split(/\n(?=REINFORCE|RELAX)/).slice(1)) {
      const losses = part.split('\n').filter((l) => /^\s+\d+\s/.test(l)).map((l) => Number(l.trim().split(/\s+/)[1]));
      assert.ok(losses.length >= 2 && losses[losses.length - 1] < losses[0] * 0.6, part.split('\n')[0]);
    }
  },
  'compare-estimators.ts': (out) => {
    for (const name of ['reinforce', 'relax', 'arsm', 'gumbel-softmax']) assert.match(out, new RegExp(`^${name}\\s`, 'm'));
    assert.ok(numberOn(out, /^straight-through \(biased\)\s+\S+\s+/) > 3.5, 'straight-through is visibly biased (max |z|)');
    assert.match(out, /wrote report\/examples\/compare-estimators\.svg/);
  },
  'antithetic-sampling.ts': (out) => {
    // ρ < 0 for a monotone integrand, ρ = 1 for a symmetric one (Owen, Theorem 8.1 and its counterexample).
    const rho = (name: string) => Number(out.split('\n').find((l) => l.startsWith(name))!.trim().split(/\s+/).pop());
    assert.ok(rho('E[e^u]') < -0.9, `rho ${rho('E[e^u]')}`);
    assert.ok(Math.abs(rho('E[(u − ½)²]') - 1) < 0.01, `rho ${rho('E[(u − ½)²]')}`);
    assert.match(out, /^pathwise ∂\/∂μ, Gaussian\s+\S+\s+0 \(exact\)/m);
    const crn = out.match(/independent noise (\S+), common random numbers (\S+)/)!;
    assert.ok(Number(crn[2]) < Number(crn[1]) / 100, crn[0]);
  },
  'control-variates.ts': (out) => {
    const [, plain, best] = out.match(/plain (\S+), with β\* (\S+)/)!.map(Number);
    assert.ok(best < plain / 2, `${best} vs ${plain}`);
    // The parabola: β* is its minimum, and 2β* gives back the plain variance (an identity in the sample moments).
    const at = Object.fromEntries([...out.matchAll(/c=(\S+) (\d\.\d+)/g)].map((m) => [m[1], Number(m[2])]));
    assert.ok(at['1'] < at['0.5'] && at['1'] < at['1.5'], JSON.stringify(at));
    assert.is(at['2'], at['0']);
    assert.match(out, /^normal, f = Σ\(x − t\)² \(quadratic\)\s+\S+\s+\S+\s+0$/m);
  },
  'rao-blackwellization.ts': (out) => {
    const variance = (name: string) => numberOn(out, new RegExp(`^${name.replace(/[()]/g, '\\$&')}\\s+\\d+\\s+`));
    assert.ok(variance('rao-blackwell (b_0)') < variance('reinforce'));
    const ks = [0, 1, 2, 4, 8, 12, 15].map((k) => variance(`sum-and-sample k=${k}`));
    for (let i = 1; i < ks.length; i++) assert.ok(ks[i] < ks[i - 1], `k index ${i}: ${ks}`);
    assert.is(ks[ks.length - 1], 0);
  },
  'spanning-tree.ts': (out) => {
    // Every estimator lowers the exact loss E[f(X)] well below its start.
    const start = numberOn(out, /^\s+0\s+/);
    const finals = [...out.matchAll(/^  (\S.*?\))\s+(\d+\.\d+)\s+(\d+\.\d+)$/gm)].map((m) => Number(m[2]));
    assert.is(finals.length, 4);
    for (const loss of finals) assert.ok(loss < start * 0.6, `${loss} vs ${start}`);
    assert.match(out, /wrote report\/examples\/spanning-tree\.svg/);
  },
  'sst-temperature.ts': (out) => {
    // Per problem: the SST's bias shrinks and its variance grows from the hottest to the coldest t.
    const tables = out.split(/\n(?=\S.*samples per estimator)/).slice(1);
    assert.is(tables.length, 2);
    for (const table of tables) {
      const rows = table.split('\n').filter((l) => /^\s+\d+\.\d+\s+\d/.test(l)).map((l) => l.trim().split(/\s+/).map(Number));
      const [cold, hot] = [rows[0], rows[rows.length - 1]]; // t, SST |bias|, SST variance, …
      assert.ok(cold[1] < hot[1] / 2, `bias ${cold[1]} at t=${cold[0]} vs ${hot[1]} at t=${hot[0]}`);
      assert.ok(cold[2] > hot[2] * 10, `variance ${cold[2]} at t=${cold[0]} vs ${hot[2]} at t=${hot[0]}`);
    }
    assert.match(out, /wrote report\/examples\/sst-temperature\.svg/);
  },
};

const examples = suite('examples');
const files = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts')).sort();

examples('every expectation names an existing example', () => {
  for (const file of Object.keys(expectations)) assert.ok(files.includes(file), file);
});

for (const file of files) {
  examples(`${file} runs and exits 0`, () => {
    const { status, stdout, stderr } = run(file);
    assert.is(status, 0, `${file} exited ${status}:\n${stderr}`);
    assert.ok(stdout.trim().length > 0, 'prints something');
    expectations[file]?.(stdout);
    for (const svg of stdout.matchAll(/wrote (report\/examples\/\S+\.svg)/g)) assert.ok(existsSync(join(root, svg[1])), svg[1]);
  });
}

examples.run();
