// Training the network that produces the logits (the VAE-style use).
//
// Often θ is not a free parameter but the output of a network: an encoder
// maps data x_i to logits θ_i = x_i W, a discrete code b_i ∼ Cat(softmax θ_i)
// is drawn, and a loss f(b) is paid. We want ∇_W E[f(b)]. By the chain rule
//
//   ∇_W E[f] = Σ_i (∂θ_i/∂W)ᵀ ∇_θi E[f],
//
// so any estimate of ∇_θ E[f] becomes an estimate of ∇_W E[f]. mcgrad makes
// this automatic: an estimator returns a *surrogate*, a scalar whose gradient
// with respect to anything upstream of θ is the estimate. Put it inside your
// own grad and W gets its gradient, exactly as with an ordinary loss.
//
// Here: 8 data points in 3 dimensions, 4 codes each; code k of point i costs
// (c_k − t_i)², where t_i is a hidden linear function of x_i. The loss is the
// total cost, L(W) = E[Σ_i cost_i · b_i], which is linear in b, so its exact
// value Σ_i softmax(x_i W) · cost_i is easy to print.
//
// Part 2 trains RELAX's learned control variate c_φ at the same time. Because
// the estimate ĝ is unbiased for every φ, E‖ĝ‖² = ‖∇L‖² + Var ĝ, and only the
// variance depends on φ: minimising ‖ĝ‖² over φ minimises the variance. That
// needs the gradient (over φ) of a gradient (over W): nested grads.
// (When the logits are free parameters, estimateGradient(relaxEstimator, …,
// { state, trainState: true }) returns that φ-gradient for you.)
//
// Run: npx tsx examples/upstream-gradients.ts   (MCGRAD_QUICK=1 for fewer steps)

import {
  tensor, zeros, matmul, sub, mul, sum, square, softmax, min, grad, valueAndGrad, rng, adam,
  categorical, reinforce, relax, initRelaxState, type Tensor, type RelaxState,
} from '../index.ts';

const quick = process.env.MCGRAD_QUICK === '1';
const steps = quick ? 40 : 400;
const r = rng(0);

// The data, and the cost of each code: cost[i, k] = (c_k − t_i)².
const X = r.normal([8, 3]); // [B, D]
const t = matmul(X, tensor([[0.8], [-0.5], [0.3]])); // [B, 1], the hidden targets
const centers = tensor([[-1.5, -0.5, 0.5, 1.5]]); // [1, K]
const cost = square(sub(centers, t)); // [B, K]

// f maps samples [n, B, K] (one one-hot code per data point) to values [n].
const f = (b: Tensor) => sum(mul(b, cost), [1, 2]);
const encoder = (W: Tensor) => matmul(X, W); // logits [B, K]
const exactLoss = (W: Tensor) => sum(mul(softmax(encoder(W), -1), cost)).item();
// (A linear encoder with no bias term cannot quite reach this floor.)
console.log(`best possible loss (each point on its cheapest code): ${sum(min(cost, 1)).item().toFixed(4)}`);

// Prints the exact loss and the mean of ‖ĝ‖² since the last print, every steps/4 steps.
const HEADER = '   step  exact loss  mean ‖ĝ‖² since last line';
function logger(): (step: number, W: Tensor, squaredNorm: number) => void {
  let total = 0;
  let count = 0;
  return (step, W, squaredNorm) => {
    total += squaredNorm;
    count++;
    if (step % (steps / 4) !== 0) return;
    console.log(`${String(step).padStart(7)}  ${exactLoss(W).toFixed(4).padStart(10)}  ${(total / count).toExponential(2)}`);
    total = 0;
    count = 0;
  };
}

// ---- Part 1: REINFORCE with a leave-one-out baseline, inside our own grad.
{
  let W = zeros([3, 4]);
  const opt = adam({ lr: 0.05 });
  let optState = opt.init(W);
  const lossOf = (W: Tensor) => reinforce(categorical(encoder(W)), f, r, { n: 4, baseline: 'leave-one-out' }).surrogate;
  console.log(`\nREINFORCE (leave-one-out, 4 samples per step)\n${HEADER}`);
  const log = logger();
  for (let step = 0; step <= steps; step++) {
    const gW = grad(lossOf)(W); // the estimate of ∇_W E[f], through the encoder
    log(step, W, sum(square(gW)).item());
    ({ params: W, state: optState } = opt.step(W, gW, optState));
  }
}

// ---- Part 2: RELAX, training W with ĝ and φ with ∂‖ĝ‖²/∂φ, from the same samples.
{
  let W = zeros([3, 4]);
  let phi: RelaxState = initRelaxState(categorical(encoder(W)), r.split(), { hidden: [10] });
  const optW = adam({ lr: 0.05 });
  const optPhi = adam({ lr: 0.01 });
  let stateW = optW.init(W);
  let statePhi = optPhi.init(phi);
  console.log(`\nRELAX (1 sample per step, c_φ trained on the variance)\n${HEADER}`);
  const log = logger();
  for (let step = 0; step <= steps; step++) {
    let gW = W; // set inside the objective below
    // Outer: a function of φ. Inner: the estimate ĝ = ∇_W of RELAX's surrogate,
    // which depends on φ through the control variate. Same samples for both.
    const objective = valueAndGrad((phi: RelaxState) => {
      gW = grad((W: Tensor) => relax(categorical(encoder(W)), f, r, { state: phi }).surrogate)(W);
      return sum(square(gW)); // ‖ĝ‖²: its φ-gradient is the variance's
    });
    const { value, grad: gPhi } = objective(phi);
    log(step, W, value.item());
    ({ params: W, state: stateW } = optW.step(W, gW, stateW));
    ({ params: phi, state: statePhi } = optPhi.step(phi, gPhi, statePhi));
  }
}

// Both reach the same loss; RELAX does it with one sample per step where
// REINFORCE-RLOO uses four, because c_φ soaks up most of the noise.
