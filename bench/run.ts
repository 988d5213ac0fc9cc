// `npm run bench`: times every benchmark suite and prints one JSON line per
// case on stdout (per-call microseconds: median, min, max over interleaved
// passes; see timing.ts). Machine information goes to stderr.
//
//   npm run bench                      every suite, each in a process of its own, the peers' timing method
//   npm run bench -- --only engine     one suite (engine | estimators)
//   npm run bench -- --quick           a smoke run: every case, few passes
//   npm run bench -- --together        every suite in one process, interleaved (the method before 29 Nov 2026)
//
// Compare with the peers (../shared/peers/) run in the same session: see
// bench/README.md.

import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { engineCases, type BenchCase } from './engine.ts';
import { estimatorCases } from './estimators.ts';
import { measureRoundRobin, FULL, QUICK } from './timing.ts';

/** Each suite builds its cases (inputs allocated once, outside the timing). */
const SUITES: Record<string, () => BenchCase[]> = {
  engine: engineCases,
  estimators: estimatorCases,
};

function parseArgs(argv: readonly string[]): { only: string | null; quick: boolean; together: boolean } {
  let only: string | null = null;
  let quick = false;
  let together = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--together') together = true;
    else if (arg === '--only') only = argv[++i] ?? '';
    else if (arg.startsWith('--only=')) only = arg.slice('--only='.length);
    else throw new RangeError(`bench: unknown argument ${arg}; use --only ${Object.keys(SUITES).join('|')}, --quick, --together`);
  }
  if (only !== null && !(only in SUITES)) {
    throw new RangeError(`bench: unknown suite "${only}"; use --only ${Object.keys(SUITES).join('|')}`);
  }
  if (together && only !== null) throw new RangeError('bench: --together runs every suite; leave out --only');
  return { only, quick, together };
}

function main(): void {
  let args: { only: string | null; quick: boolean; together: boolean };
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const { only, quick, together } = args;
  if (only === null && !together) {
    // Each suite in a process of its own, as the peers' figures are taken
    // (`bench.py --only micro`, `--only estimators`): in one process, the
    // engine cases' garbage (fresh 8 MB gradients of the 1e6-element chain)
    // brings a mark-compact every pass, and the estimator cases at n = 1
    // timed after them took up to twice as long (bench/README.md).
    for (const suite of Object.keys(SUITES)) {
      const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1], '--only', suite, ...(quick ? ['--quick'] : [])], { stdio: 'inherit' });
      if (child.status !== 0) process.exit(child.status ?? 1);
    }
    return;
  }
  const names = only === null ? Object.keys(SUITES) : [only];
  const cases = names.flatMap((suite) => SUITES[suite]().map((c) => ({ suite, ...c })));
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  process.stderr.write(`node=${process.version} cpu=${cpu} nproc=${os.cpus().length} cases=${cases.length}${quick ? ' (quick)' : ''}\n`);
  const timings = measureRoundRobin(cases.map((c) => c.run), quick ? QUICK : FULL);
  const round = (us: number) => Math.round(us * 10) / 10;
  cases.forEach((c, i) => {
    const t = timings[i];
    const line = { suite: c.suite, case: c.name, n: c.n, median_us: round(t.median), min_us: round(t.min), max_us: round(t.max), k: t.k, passes: t.passes };
    process.stdout.write(JSON.stringify(line) + '\n');
  });
}

main();
