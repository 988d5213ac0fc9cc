// Every script in examples/ runs as a user would run it (a child process with
// tsx, from the repository root) and exits 0. MCGRAD_QUICK=1 makes each use
// fewer steps and samples, so each takes a second or two. Where an example
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
    assert.ok(numberOn(out, /^straight-through\s+no\s+\S+\s+/) > 3.5, 'straight-through is visibly biased (max |z|)');
    assert.match(out, /wrote report\/examples\/compare-estimators\.svg/);
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
