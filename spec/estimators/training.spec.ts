// The toy training run of Grathwohl et al. 2018 (figure 1), shortened:
// RELAX's variance falls by orders of magnitude, REINFORCE's stays where it
// is, and RELAX's loss falls below REINFORCE's. Seeded, so deterministic.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { trainToy } from '../../index.ts';

const test = suite('training: the RELAX toy problem');

test('RELAX learns a control variate; REINFORCE cannot', () => {
  const steps = 2000;
  const relax = trainToy({ estimator: 'relax', steps, seed: 1 });
  const reinforce = trainToy({ estimator: 'reinforce', steps, seed: 1 });
  const first = (c: typeof relax) => c.points[0];
  const last = (c: typeof relax) => c.points[c.points.length - 1];
  assert.is(relax.points.length, 51);
  // At step 0, α = 0 so RELAX is REINFORCE: the same variance up to sampling noise (100 draws: ±30%).
  assert.ok(Math.abs(first(relax).variance / first(reinforce).variance - 1) < 0.5);
  // The best of the last five logged variances, 100 draws each.
  const tail = (c: typeof relax) => Math.min(...c.points.slice(-5).map((p) => p.variance));
  assert.ok(tail(relax) < first(relax).variance / 100, `RELAX variance ${first(relax).variance} → ${tail(relax)}`);
  assert.ok(tail(reinforce) > first(reinforce).variance / 3, 'REINFORCE stays flat');
  assert.ok(last(relax).loss < last(reinforce).loss, `loss ${last(relax).loss} vs ${last(reinforce).loss}`);
  assert.ok(last(relax).theta < 0, 'θ moves toward b = 0, the better outcome for t = 0.499');
});

test.run();
