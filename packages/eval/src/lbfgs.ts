/**
 * A small L-BFGS minimiser (Nocedal & Wright, "Numerical Optimization", 2nd ed., Alg. 7.4 two-loop
 * recursion and Alg. 3.5/3.6 strong-Wolfe line search). All of its state — the iterate's
 * gradient, the search direction, the curvature pairs, the line search — is float64. The
 * objective is reached through an `LbfgsProblem`, which owns the iterate: this lets a linear
 * model evaluate the whole line search from one product `X·p` (see `multinomial.ts`).
 */

/** The objective and its directional derivative at `θ + α p` on the current line. */
export interface LinePoint {
  f: number;
  df: number;
}

/** The objective and its gradient at a point. */
export interface ValueAndGradient {
  f: number;
  g: Float64Array;
}

/** What `minimizeLbfgs` drives. The problem holds the current point θ; the minimiser never sees it. */
export interface LbfgsProblem {
  /** Value and gradient at the starting point. Called once, first. */
  start(): ValueAndGradient;
  /** Fixes the search direction `p` and returns `α -> (f(θ + α p), d/dα f(θ + α p))`. */
  line(p: Float64Array): (alpha: number) => LinePoint;
  /** Moves θ to `θ + α p` on the last line and returns value and gradient there. */
  step(alpha: number): ValueAndGradient;
}

export interface LbfgsOptions {
  /** Stop when `max_i |g_i| <= tol` (L-BFGS-B's `gtol`, scikit-learn's `tol`). Default 1e-4. */
  tol?: number;
  /** Stop when `(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol` (scipy's default `ftol` = 1e7 * eps). */
  ftol?: number;
  /** Iteration cap. Default 1000. */
  maxIterations?: number;
  /** Curvature pairs kept. Default 10 (scipy's `maxcor`). */
  memory?: number;
  /** Objective evaluations per line search. Default 20 (scipy's `maxls`). */
  maxLineSearch?: number;
}

/** Why the minimiser stopped: `gradient` and `loss` are convergence, the others are not. */
export type LbfgsStopReason = 'gradient' | 'loss' | 'maxIterations' | 'lineSearch';

export interface LbfgsResult {
  /** Objective at the final point. */
  f: number;
  /** Accepted steps. */
  iterations: number;
  /** Objective evaluations along lines (cheap for `multinomial.ts`), plus one for the start. */
  evaluations: number;
  converged: boolean;
  stopReason: LbfgsStopReason;
  /** `max_i |g_i|` at the final point. */
  gradientMaxAbs: number;
  /** Objective at the start and after each iteration. */
  history: number[];
}

/** scipy.optimize L-BFGS-B's default `ftol` (factr 1e7 times the float64 epsilon). */
export const DEFAULT_FTOL = 1e7 * Number.EPSILON;

const C1 = 1e-4;
const C2 = 0.9;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/** Minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN when it has none. */
function cubicMinimizer(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return Number.NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - ((b - a) * (db + d2 - d1)) / (db - da + 2 * d2);
}

interface LineSearchResult {
  alpha: number;
  evaluations: number;
}

/**
 * Strong-Wolfe line search (N&W Alg. 3.5 with the cubic-interpolating zoom of Alg. 3.6). Returns
 * a step with sufficient decrease (the best one found if the curvature condition was not met
 * within `maxEvals` trials), or alpha 0 when none decreased the objective.
 */
function strongWolfe(phi: (alpha: number) => LinePoint, f0: number, d0: number, alpha1: number, maxEvals: number): LineSearchResult {
  let evaluations = 0;
  const decreases = (a: number, f: number): boolean => f <= f0 + C1 * a * d0; // false for NaN
  const zoom = (lo: number, flo: number, dlo: number, hi: number, fhi: number, dhi: number): LineSearchResult => {
    while (evaluations < maxEvals) {
      const left = Math.min(lo, hi);
      const width = Math.abs(hi - lo);
      let a = cubicMinimizer(lo, flo, dlo, hi, fhi, dhi);
      if (!(a >= left + 0.1 * width && a <= left + 0.9 * width)) a = (lo + hi) / 2;
      if (a === lo || a === hi) break; // the interval is below float64 resolution
      const p = phi(a);
      evaluations++;
      if (!decreases(a, p.f) || p.f >= flo) {
        hi = a;
        fhi = p.f;
        dhi = p.df;
      } else {
        if (Math.abs(p.df) <= -C2 * d0) return { alpha: a, evaluations };
        if (p.df * (hi - lo) >= 0) {
          hi = lo;
          fhi = flo;
          dhi = dlo;
        }
        lo = a;
        flo = p.f;
        dlo = p.df;
      }
    }
    // `lo` always has sufficient decrease (or is 0): the best step found
    return { alpha: lo, evaluations };
  };
  let prev = 0;
  let fPrev = f0;
  let dPrev = d0;
  let a = alpha1;
  while (evaluations < maxEvals) {
    const p = phi(a);
    evaluations++;
    if (!decreases(a, p.f) || (prev > 0 && p.f >= fPrev)) return zoom(prev, fPrev, dPrev, a, p.f, p.df);
    if (Math.abs(p.df) <= -C2 * d0) return { alpha: a, evaluations };
    if (p.df >= 0) return zoom(a, p.f, p.df, prev, fPrev, dPrev);
    prev = a;
    fPrev = p.f;
    dPrev = p.df;
    a *= 4;
  }
  return { alpha: prev, evaluations };
}

/**
 * Minimises `problem` by L-BFGS from its starting point. Stops when the largest gradient entry is
 * at most `tol` or the relative decrease of one iteration is at most `ftol` (both count as
 * converged), after `maxIterations`, or when no descent step can be found (float32 noise floor).
 * The first step (and the first after a reset) has length 1 / ||p||, like scipy's L-BFGS-B.
 */
export function minimizeLbfgs(problem: LbfgsProblem, options: LbfgsOptions = {}): LbfgsResult {
  const tol = options.tol ?? 1e-4;
  const ftol = options.ftol ?? DEFAULT_FTOL;
  const maxIterations = options.maxIterations ?? 1000;
  const m = options.memory ?? 10;
  const maxLs = options.maxLineSearch ?? 20;
  let { f, g } = problem.start();
  const size = g.length;
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rho: number[] = [];
  const alphas = new Float64Array(m);
  const history = [f];
  let iterations = 0;
  let evaluations = 1;
  let stopReason: LbfgsStopReason | undefined = maxAbs(g) <= tol ? 'gradient' : undefined;
  const direction = (): Float64Array => {
    // two-loop recursion, H0 = (s'y / y'y) I from the newest pair
    const q = Float64Array.from(g);
    for (let i = sHist.length - 1; i >= 0; i--) {
      const a = (rho[i] as number) * dot(sHist[i] as Float64Array, q);
      alphas[i] = a;
      const y = yHist[i] as Float64Array;
      for (let j = 0; j < size; j++) q[j] = (q[j] as number) - a * (y[j] as number);
    }
    const last = sHist.length - 1;
    const gamma = last >= 0 ? 1 / ((rho[last] as number) * dot(yHist[last] as Float64Array, yHist[last] as Float64Array)) : 1;
    for (let j = 0; j < size; j++) q[j] = (q[j] as number) * gamma;
    for (let i = 0; i < sHist.length; i++) {
      const s = sHist[i] as Float64Array;
      const b = (rho[i] as number) * dot(yHist[i] as Float64Array, q);
      const c = (alphas[i] as number) - b;
      for (let j = 0; j < size; j++) q[j] = (q[j] as number) + c * (s[j] as number);
    }
    for (let j = 0; j < size; j++) q[j] = -(q[j] as number);
    return q;
  };
  while (stopReason === undefined) {
    if (iterations >= maxIterations) {
      stopReason = 'maxIterations';
      break;
    }
    let p = direction();
    let phi = problem.line(p);
    let at0 = phi(0);
    evaluations++;
    if (!(at0.df < 0) && sHist.length > 0) {
      // not a descent direction (curvature pairs spoilt by noise): restart from steepest descent
      sHist.length = 0;
      yHist.length = 0;
      rho.length = 0;
      p = direction();
      phi = problem.line(p);
      at0 = phi(0);
      evaluations++;
    }
    let ls: LineSearchResult = { alpha: 0, evaluations: 0 };
    if (at0.df < 0) {
      const first = sHist.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(p, p))) : 1;
      ls = strongWolfe(phi, at0.f, at0.df, first, maxLs);
      evaluations += ls.evaluations;
    }
    if (!(ls.alpha > 0)) {
      if (sHist.length > 0) {
        // retry once from steepest descent before giving up
        sHist.length = 0;
        yHist.length = 0;
        rho.length = 0;
        continue;
      }
      stopReason = 'lineSearch';
      break;
    }
    const next = problem.step(ls.alpha);
    iterations++;
    const s = new Float64Array(size);
    const y = new Float64Array(size);
    for (let j = 0; j < size; j++) {
      s[j] = ls.alpha * (p[j] as number);
      y[j] = (next.g[j] as number) - (g[j] as number);
    }
    const sy = dot(s, y);
    if (sy > Number.EPSILON * dot(y, y)) {
      if (sHist.length === m) {
        sHist.shift();
        yHist.shift();
        rho.shift();
      }
      sHist.push(s);
      yHist.push(y);
      rho.push(1 / sy);
    }
    const decrease = (f - next.f) / Math.max(Math.abs(f), Math.abs(next.f), 1);
    f = next.f;
    g = next.g;
    history.push(f);
    if (maxAbs(g) <= tol) stopReason = 'gradient';
    else if (decrease <= ftol) stopReason = 'loss';
  }
  return {
    f,
    iterations,
    evaluations,
    converged: stopReason === 'gradient' || stopReason === 'loss',
    stopReason,
    gradientMaxAbs: maxAbs(g),
    history,
  };
}
