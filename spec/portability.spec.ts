// Library code (autodiff/, lib/, estimators/, index.ts) runs unchanged in a
// browser, Deno or Bun: it imports no Node module and touches no Node global,
// and it draws no randomness from Math.random (every random number comes from
// the seeded generator of lib/random.ts). The type checker cannot enforce
// this, since spec/, bench/ and cli/ share the tree's Node types, so this spec
// reads the sources. Comments are removed first (they may name what the code
// must not use); string literals are kept, so an import path is seen.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIBRARY = ['index.ts', 'autodiff', 'lib', 'estimators'];

const NODE_MODULES = ['fs', 'path', 'os', 'url', 'util', 'crypto', 'child_process', 'worker_threads', 'v8', 'vm', 'events', 'stream', 'buffer', 'perf_hooks', 'module', 'process'];

/** What library code must not contain, each with the reason shown on failure. */
const FORBIDDEN: { pattern: RegExp; why: string }[] = [
  { pattern: /from\s+['"]node:/, why: 'imports a node: module' },
  { pattern: new RegExp(`from\\s+['"](${NODE_MODULES.join('|')})['"]`), why: 'imports a Node built-in module' },
  { pattern: /\bimport\s*\(\s*['"]node:/, why: 'dynamically imports a node: module' },
  { pattern: /\brequire\s*\(/, why: 'calls require()' },
  { pattern: /\bprocess\s*\./, why: 'uses the Node global process' },
  { pattern: /\bBuffer\b/, why: 'uses the Node global Buffer' },
  { pattern: /\b__(dirname|filename)\b/, why: 'uses a CommonJS path global' },
  { pattern: /\bsetImmediate\b/, why: 'uses the Node-only setImmediate' },
  { pattern: /\bMath\.random\b/, why: 'draws from Math.random instead of the seeded generator' },
];

/** The source without comments: block comments and line comments outside strings. */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const next = source[i + 1];
    if (ch === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ''); // keep the line breaks, so line numbers hold
      i = stop;
    } else if (ch === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      while (j < source.length && source[j] !== ch) j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** The lines of `source` (1-based numbers) that match a forbidden pattern, with why. */
export function violations(source: string): string[] {
  const found: string[] = [];
  stripComments(source)
    .split('\n')
    .forEach((line, i) => {
      for (const { pattern, why } of FORBIDDEN) if (pattern.test(line)) found.push(`line ${i + 1}: ${why}: ${line.trim()}`);
    });
  return found;
}

function sourceFiles(path: string): string[] {
  if (statSync(path).isFile()) return path.endsWith('.ts') ? [path] : [];
  return readdirSync(path).flatMap((name) => sourceFiles(join(path, name)));
}

const portable = suite('portability: library code uses no Node API and no Math.random');

portable('the scanner finds each forbidden use, and ignores comments', () => {
  const bad = [
    "import { readFileSync } from 'node:fs';",
    'import { join } from "path";',
    "const m = await import('node:os');",
    "const x = require('x');",
    'const argv = process.argv;',
    'const b = Buffer.from([1]);',
    'const here = __dirname;',
    'setImmediate(() => {});',
    'const u = Math.random();',
  ];
  for (const line of bad) assert.is(violations(line).length, 1, line);
  assert.equal(violations("// process.argv and Math.random()\n/* require('fs') */\nconst ok = 'a // b';"), []);
  // Line numbers survive comment removal, so a failure points at the right line.
  assert.equal(violations('/* one\n two */\n// three\nconst u = Math.random();'), ['line 4: draws from Math.random instead of the seeded generator: const u = Math.random();']);
});

portable('autodiff/, lib/, estimators/ and index.ts', () => {
  const files = LIBRARY.flatMap((entry) => sourceFiles(join(ROOT, entry)));
  assert.ok(files.length > 30, `found only ${files.length} library files`);
  const problems = files.flatMap((file) => violations(readFileSync(file, 'utf8')).map((v) => `${relative(ROOT, file)} ${v}`));
  assert.equal(problems, []);
});

portable.run();
