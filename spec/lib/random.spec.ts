import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rng } from '../../index.ts';

const determinism = suite('random: determinism');
determinism('same seed, same stream', () => {
  const a = rng(42).uniform([5]).toArray();
  const b = rng(42).uniform([5]).toArray();
  assert.equal(a, b);
});
determinism.run();
