// The toy training run of Grathwohl et al. 2018 (figure 1), shortened:
// RELAX's variance falls by orders of magnitude, REINFORCE's stays where it
// is, and RELAX's loss falls below REINFORCE's; REBAR's η and temperature
// train and its variance falls from where it starts; every logged loss is the
// exact E[f] at the logged θ. Seeded, so deterministic.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { trainToy, type TrainingCurve, type RelaxState } from '../../index.ts';

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
  assert.ok(tail(relax) < tail(reinforce) / 100, `RELAX variance ${tail(relax)} vs REINFORCE ${tail(reinforce)}`);
  assert.ok(last(relax).loss < last(reinforce).loss, `loss ${last(relax).loss} vs ${last(reinforce).loss}`);
  assert.ok(last(relax).theta < 0, 'θ moves toward b = 0, the better outcome for t = 0.499');
});

test('REBAR trains η and the temperature, and its variance falls from where it starts', () => {
  const rebar = trainToy({ estimator: 'rebar', steps: 1000, seed: 1 });
  const state = rebar.state as RelaxState;
  // f(σ_λ(z)) is a poor control variate for f(b) = (b − 0.499)², so η heads for 0 (from 1).
  assert.ok(Math.abs(state.eta!.data[0]) < 0.5, `η ${state.eta!.data[0]}`);
  assert.ok(Math.abs(state.logTemperature.data[0] - Math.log(0.5)) > 0.1, `log λ ${state.logTemperature.data[0]}`);
  // Means of five logged variances (100 draws each) at the start and at the end.
  const mean = (points: typeof rebar.points) => points.reduce((acc, p) => acc + p.variance, 0) / points.length;
  const start = mean(rebar.points.slice(0, 5));
  const end = mean(rebar.points.slice(-5));
  assert.ok(end < 0.85 * start, `REBAR variance ${start} → ${end}`);
});

test('every logged loss is the exact loss σ(θ)(1 − t)² + (1 − σ(θ))t² at the logged θ', () => {
  const t = 0.499;
  const exact = (theta: number) => {
    const p = 1 / (1 + Math.exp(-theta));
    return p * (1 - t) ** 2 + (1 - p) * t ** 2;
  };
  for (const estimator of ['reinforce', 'rebar', 'relax'] as const) {
    const curve: TrainingCurve = trainToy({ estimator, steps: 300, seed: 2 });
    assert.is(curve.points[0].theta, 0, estimator);
    assert.is(curve.points[0].loss, 0.250001, estimator);
    // The last point is logged after the last step, at the returned θ.
    assert.is(curve.points[curve.points.length - 1].theta, curve.params.logits.data[0], estimator);
    assert.ok(Math.max(...curve.points.map((p) => Math.abs(p.theta))) > 0.01, `${estimator}: θ moves`);
    for (const p of curve.points) {
      assert.ok(Math.abs(p.loss - exact(p.theta)) <= 1e-15, `${estimator} step ${p.step}: loss ${p.loss} at θ = ${p.theta}, exact ${exact(p.theta)}`);
    }
  }
});

test.run();
