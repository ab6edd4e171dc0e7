"""Projected L-BFGS (or projected Newton, given an exact structured Hessian) for box constraints, written as one
`lax.while_loop` so a whole solve is one XLA call.

Two-metric projection (Bertsekas 1982): variables at a bound whose gradient pushes outward are held fixed; the
others take an L-BFGS step (two-loop recursion restricted to the free set) or a Newton step (the Hessian restricted
to the free set: solved exactly, `MinKernelHessian.solve`, or by damped, truncated conjugate gradients on its
products with vectors, `HessianProducts`), and the step is projected back into the box with Armijo backtracking
along the projection arc. Converges like L-BFGS-B on the free set without flattening the optimum at the bounds
(no reparametrisation).

All work is in scaled variables v = x·√w, where w are the metric weights (the time each control block
covers), so the Euclidean geometry of v is the L² geometry of the schedule: iteration counts and tolerances
do not depend on the number of blocks.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular
from jaxtyping import Array, Float

from .._hessian import MinKernelHessian
from .._hessian_products import HessianProducts
from ._base import Info
from ._results import (LINE_SEARCH_FAILED, MAX_STEPS, NONFINITE, NOT_VERIFIED, STALL_ITERATIONS, STALLED, SUCCESS,
                       UNBOUNDED)

# Newton–CG (`HessianProducts`): products per step at most, and the damping's start and range (relative to |diag|)
CG_STEPS = 200
DAMPING_START, DAMPING_MIN, DAMPING_MAX = 1e-3, 1e-10, 1e6


class _State(NamedTuple):
    v: Array
    f: Array
    g: Array
    s_hist: Array
    y_hist: Array
    sy: Array  # sy[i, j] = sᵢᵀyⱼ over the history slots, updated with each stored pair
    rho: Array
    head: Array
    count: Array
    it: Array
    nfev: Array
    pg: Array
    fails: Array
    f_best: Array
    stall: Array
    result: Array
    d: Array
    f0: Array  # J at the start (set by the zeroth pass)
    pg0: Array  # the start's projected gradient (set by the zeroth pass), which scales the tolerance
    probe: Array  # probe passes made after the iterations stopped (`_Probes`)
    probe_f: Array  # J at each probe point (+inf until evaluated, and for NaN)
    probe_decrease: Array  # the Newton decrease predicted along the two curvature probes' directions
    probe_flat: Array  # free controls whose slope moves J less than its noise (`_Probes.flat`)
    damping: Array  # Newton–CG (`HessianProducts`): λ of the damped system (H + λ·|diag|) x = q, adapted per step


class Minimiser(NamedTuple):
    """One solve in three traceable parts, so a caller may advance it in compiled chunks and look at it between
    them (`lrc.solve`'s progress line) with no host callback inside the compiled code:

    - `init(x0)` → the loop state at the start (nothing evaluated yet);
    - `run(state, until)` → the state after iterating while not stopped and `state.it < until` (`until` may be a
      traced integer; the first call also makes the zeroth pass that evaluates the start; the call in which the
      iterations stop also makes the probe passes that check the answer, `_Probes`);
    - `finish(state)` → (x, `Info`), the stop judged against the objective's round-off from those probes;
    - `status(state)` → (iteration, f, projected gradient norm, tolerance, still running or probing).

    `finish(run(init(x0), max_steps))` is the whole solve (`minimise`).
    """

    init: Callable
    run: Callable
    finish: Callable
    status: Callable


def minimise(value_grad_curvature: Callable, x0: Float[Array, " n"], lower: Float[Array, " n"],
             upper: Float[Array, " n"], weights: Float[Array, " n"] | None, *, rtol: float, atol: float,
             max_steps: int, history: int, columns: int = 1,
             upper_infinite: tuple[bool, ...] | None = None) -> tuple[Float[Array, " n"], Info]:
    """Minimise f(x) over lower ≤ x ≤ upper in one call (`minimiser`'s parts run back to back)."""
    m = minimiser(value_grad_curvature, lower, upper, weights, rtol=rtol, atol=atol, max_steps=max_steps,
                  history=history, columns=columns, upper_infinite=upper_infinite)
    return m.finish(m.run(m.init(x0), max_steps))


def minimiser(value_grad_curvature: Callable, lower: Float[Array, " n"], upper: Float[Array, " n"],
              weights: Float[Array, " n"] | None, *, rtol: float, atol: float, max_steps: int, history: int,
              columns: int = 1, upper_infinite: tuple[bool, ...] | None = None) -> Minimiser:
    """Minimise f(x) over lower ≤ x ≤ upper (`weights` the metric weights, None for all ones). Stops when ‖x − P(x − ∇f/w)‖_∞ ≤ atol + rtol·(its value at x0).

    `value_grad_curvature(x)` returns (f, ∇f, h): h is None (no preconditioner) or a positive estimate of the
    Hessian's diagonal at x, which makes the L-BFGS initial matrix γ·diag⁻¹ (γ = sᵀy / yᵀdiag⁻¹y, or 1 on the first
    step: a diagonal Newton step), refreshed at every accepted point; or the exact Hessian as a `MinKernelHessian`
    (rescaled by the weights, `MinKernelHessian.scaled`), which replaces L-BFGS by projected Newton: the step solves
    the Hessian restricted to the free set (O(n)) and no correction pairs are kept; or `HessianProducts` (a diagonal
    estimate only), for the same projected Newton with the step from damped, truncated conjugate gradients on
    products with the Hessian (`newton_cg`; the damping λ·|diagonal| relaxes after a whole step and grows after a
    cut one). Where that Hessian is not positive definite (far from the optimum, e.g. the FSL's early iterates;
    for `HessianProducts`, non-positive curvature along CG's first direction) the step is the diagonal Newton step,
    and after a failed line search the next step is the next kind down (Newton → diagonal → unit gradient) until a
    step is accepted. Which kind h is, is known when the function is traced (a static choice).

    x is a flattened (blocks, `columns`) array: entry i belongs to control column i mod `columns`;
    `upper_infinite[j]` (static; default all True) says column j has no upper bound. The stop is
    then judged against the objective's round-off (`_Probes`): a stall or failed line search whose remaining
    predicted decrease is below J's noise counts as converged (to round-off); a run to an unbounded side, a start
    already stationary to round-off that a trial step improves, and non-finite values are reported as such.
    """
    # Unit weights (None: one control per step) scale nothing: a Python 1.0, which XLA folds away, saves the
    # scaling passes over the controls at every evaluation (each a pass over memory at n = 10⁶)
    sqrt_w = 1.0 if weights is None else jnp.sqrt(weights)
    max_sqrt_w = 1.0 if weights is None else jnp.max(sqrt_w)
    lo, hi = lower * sqrt_w, upper * sqrt_w

    @jax.jit  # traced once, however many times it is called or shape-evaluated below
    def fgh(v):
        # (f, g, h) in the scaled variables; h is None where there is no diagonal
        f, g, h = value_grad_curvature(v / sqrt_w)
        if h is not None and weights is not None:
            h = h.scaled(1 / sqrt_w) if isinstance(h, (MinKernelHessian, HessianProducts)) else h / weights
        return f, g / sqrt_w, h

    # static: whether h is None, from the one trace of fgh (the loop below carries a placeholder for it)
    h_like = jax.eval_shape(fgh, lo)[2]
    preconditioned = h_like is not None
    products = isinstance(h_like, HessianProducts)  # Newton–CG on Hessian–vector products (`newton_cg`)
    newton = products or isinstance(h_like, MinKernelHessian)
    h_like = jax.ShapeDtypeStruct((), lo.dtype) if h_like is None else h_like

    def h_zeros():
        return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), h_like)

    def proj(v):
        return jnp.clip(v, lo, hi)

    def pg_norm(v, g):
        return jnp.max(jnp.abs(v - proj(v - g)) / sqrt_w)

    # the entries whose median stands for the typical curvature scale (`guarded`): a fixed strided sample
    sample = np.unique(np.linspace(0, lo.shape[0] - 1, min(lo.shape[0], 129)).astype(int))

    def guarded(h):
        # Guard: a non-positive or non-finite entry falls back to the typical scale of the others: the median of the
        # good entries of a fixed strided sample, computed only when some entry needs it. The median is robust to
        # the tails (log-decrement curvatures span decades; their geometric mean lies far below the median and made
        # a worse scale: README, loss-curve laws). A sample, not all entries: a full median is a sort, which a
        # vmapped solve (both branches of the cond run) paid at every step — half of a batched FSL Newton solve's
        # time. No good entry in the sample: the geometric mean of all the good ones.
        good = jnp.isfinite(h) & (h > 0)

        def typical():
            median = jnp.nanmedian(jnp.where(good[sample], h[sample], jnp.nan))
            logs = jnp.where(good, jnp.log(jnp.where(good, h, 1.0)), 0.0)
            return jnp.where(jnp.isfinite(median), median, jnp.exp(jnp.sum(logs) / jnp.maximum(jnp.sum(good), 1)))

        return jax.lax.cond(jnp.all(good), lambda: h, lambda: jnp.where(good, h, typical()))

    def diag(v, h):
        # The preconditioner at an accepted point v: the diagonal that came with its gradient (h), the exact
        # Hessian as it came (Newton: its solve says whether it is positive definite), or none.
        if newton:
            return h
        return guarded(h) if preconditioned else jnp.ones_like(v)

    n, m = lo.shape[0], 0 if newton else history
    dtype = lo.dtype
    upper_infinite = tuple(columns * [True]) if upper_infinite is None else tuple(upper_infinite)
    probes = _Probes(n, dtype, columns, upper_infinite, sqrt_w, proj)

    def init(x0):
        # The objective has one call site, in the line search (each copy of it is compiled separately, and for an
        # ODE-constrained objective each copy costs seconds of compilation). So the start is evaluated by a
        # zeroth pass of the loop body: a line search of one trial along a zero direction from J = +∞, which
        # accepts the start and sets f0, the tolerance and the preconditioner. `nfev == 0` marks that pass. The
        # checks of the answer (`_Probes`) are probe passes of the same body, after the iterations stop.
        v0 = proj(x0 * sqrt_w)
        inf = jnp.asarray(jnp.inf, dtype)
        # (Newton keeps no pairs; its `count` says which step to take, `newton_step`)
        return _State(v0, inf, jnp.zeros_like(v0), jnp.zeros((m, n), dtype), jnp.zeros((m, n), dtype),
                      jnp.zeros((m, m), dtype), jnp.zeros(m, dtype), jnp.array(0), jnp.array(2 if newton else 0),
                      jnp.array(0), jnp.array(0), inf, jnp.array(0), inf, jnp.array(0), jnp.array(-1),
                      h_zeros() if newton else jnp.ones_like(v0), inf,
                      jnp.zeros((), dtype), jnp.array(0), jnp.full(probes.count, jnp.inf, dtype),
                      jnp.full(2, jnp.inf, dtype), jnp.array(0), jnp.asarray(DAMPING_START, dtype))

    def two_loop(q, st):
        # H·q by the two-loop recursion, with its 4m vector passes gathered into four matrix–vector products over
        # the history: each αᵢ and βᵢ is a small recursion in sᵢᵀq, yᵢᵀr and the kept SᵀY, so the history is read
        # four times per call, not 4m times (at n = 10⁶ those passes, not the objective, took most of a solve).
        # Each small recursion is a unit triangular m×m system, solved as one (unrolled, its 2m little steps were
        # most of a small solve's time: each is an XLA operation of its own). History is a circular buffer: the
        # newest pair sits at head − 1; slots with rho = 0 (unused, or dropped by a reset) contribute nothing.
        order = (st.head - 1 - jnp.arange(m)) % m  # newest first; the permutation is its own inverse
        S, Y = st.s_hist, st.y_hist
        rho, A = st.rho[order], st.sy[order][:, order]  # A[a, b] = sₐᵀy_b, a and b counted from the newest
        # newest to oldest: αₐ = ρₐ(sₐᵀq − Σ_{b newer} A[a, b] α_b)
        alpha = solve_triangular(rho[:, None] * jnp.tril(A, -1), rho * (S @ q)[order], lower=True,
                                 unit_diagonal=True)
        q = q - alpha[order] @ Y
        y0 = Y[order[0]]
        yy = jnp.dot(y0, y0 / st.d)
        first = 1.0 if preconditioned else 1.0 / jnp.maximum(jnp.linalg.norm(st.g), 1e-300)
        gamma = jnp.where(st.count > 0, A[0, 0] / jnp.where(yy > 0, yy, 1.0), first)
        r = gamma * q / st.d
        # oldest to newest, cₐ = αₐ − βₐ with βₐ = ρₐ(yₐᵀr + Σ_{b older} A[b, a] c_b)
        c = solve_triangular(rho[:, None] * jnp.triu(A.T, 1), alpha - rho * (Y @ r)[order], lower=False,
                             unit_diagonal=True)
        return r + c[order] @ S

    def newton_cg(v, diagonal, q, free, damping):
        # (x, found): x ≈ (H_FF + λM_FF)⁻¹q_F by preconditioned conjugate gradients on H's products with vectors
        # (the forward-mode derivative of the gradient, linearised once per step), M = |diagonal| guarded. Truncated
        # (Nocedal & Wright, Alg. 7.1): stops at the forcing tolerance ‖r‖ ≤ min(½, √‖q_F‖)·‖q_F‖, at a direction of
        # non-positive curvature (keeping the iterate so far: a descent direction) or after `CG_STEPS` products.
        # found = False where the first direction already had non-positive curvature (no iterate).
        hvp = jax.linearize(lambda w: fgh(w)[1], v)[1]
        m = jnp.where(free, guarded(jnp.abs(diagonal)), 1.0)
        b = jnp.where(free, q, 0.0)

        def product(p):
            return jnp.where(free, hvp(jnp.where(free, p, 0.0)) + damping * m * p, 0.0)

        b_norm = jnp.linalg.norm(b)
        target = jnp.minimum(0.5, jnp.sqrt(b_norm)) * b_norm

        def cond(c):
            k, _, r, _, _, stop = c
            return (k < CG_STEPS) & ~stop & (jnp.linalg.norm(r) > target)

        def body(c):
            k, x, r, p, rz, _ = c
            hp = product(p)
            php = jnp.dot(p, hp)
            curved = php > 0
            alpha = rz / jnp.where(curved, php, 1.0)
            x_new, r_new = x + alpha * p, r - alpha * hp
            z = r_new / m
            rz_new = jnp.dot(r_new, z)
            keep = lambda new, old: jnp.where(curved, new, old)  # noqa: E731
            return (k + 1, keep(x_new, x), keep(r_new, r), keep(z + (rz_new / rz) * p, p), keep(rz_new, rz),
                    ~curved)

        z0 = b / m
        c = (jnp.array(0), jnp.zeros_like(b), b, z0, jnp.dot(b, z0), jnp.array(False))
        _, x, *_ = jax.lax.while_loop(cond, body, c)
        return x, jnp.any(x != 0)

    def newton_step(q, free, st):
        # (step, kind): kind 2, the Newton step H_FF⁻¹q on the free set; 1, the diagonal Newton step, where H_FF is
        # not positive definite or after a Newton step's line search failed (count 1); 0, the gradient scaled to
        # unit length, after a diagonal step's line search failed (count 0). Each failure moves one kind down, so a
        # retry never repeats the failed direction.
        x, positive = newton_cg(st.v, st.d.diagonal(), q, free, st.damping) if products else st.d.solve(q, free)
        kind = jnp.where((st.count == 2) & positive, 2, jnp.minimum(st.count, 1))
        step = jnp.where(kind == 2, x, jnp.where(kind == 1, q / guarded(st.d.diagonal()),
                                                 q / jnp.maximum(jnp.linalg.norm(q), 1e-300)))
        return step, kind

    def tolerance(st):
        return atol + rtol * st.pg0

    def running(st):
        return (st.result < 0) & (st.pg > tolerance(st))

    def verdict(st):
        # the result of the iterations alone, before the probes judge it
        return jnp.where(st.pg <= tolerance(st), SUCCESS, jnp.where(st.result < 0, MAX_STEPS, st.result))

    def probing(st):
        # iterations over (the zeroth pass made) and probe passes still to make
        return (st.nfev > 0) & ~running(st) & (st.probe < probes.needed(st, verdict(st)))

    def body(st: _State) -> _State:
        zeroth = st.nfev == 0
        probe = probing(st)  # a probe pass: J at probe point `st.probe`, nothing else changes
        # Free set: not at a bound with the gradient pushing outward (ε-active set, ε shrinking with pg; for the
        # probes the answer's own free set, to round-off).
        # (scalars chosen, not vectors: no extra pass over the controls)
        eps = jnp.minimum(jnp.where(probe, jnp.finfo(dtype).eps, 1e-8) * (1.0 + jnp.abs(st.v)),
                          jnp.where(probe, jnp.inf, st.pg * max_sqrt_w))
        fixed = ((st.v <= lo + eps) & (st.g > 0)) | ((st.v >= hi - eps) & (st.g < 0))
        free = ~fixed
        p = -jnp.where(free, st.g, 0.0)
        if newton:
            step, kind = newton_step(-p, free, st)
            d = -jnp.where(free, step, 0.0)
        else:
            d = -jnp.where(free, two_loop(-p, st), 0.0)
        d = jnp.where(jnp.dot(st.g, d) < 0, d, p)
        # A probe pass evaluates its point as a line search of one trial along a zero direction from it.
        i = probes.index(st, verdict(st))  # the probe's table position (used on a probe pass only)
        base = jax.lax.cond(probe, lambda: probes.point(i, st.v, p, d, free), lambda: st.v)
        d = jnp.where(zeroth | probe, 0.0, d)

        def trial(alpha):
            v_new = proj(base + alpha * d)
            f_new, g_new, h_new = fgh(v_new)
            h_new = h_zeros() if h_new is None else h_new
            good = jnp.isfinite(f_new) & jnp.all(jnp.isfinite(g_new)) & (
                f_new <= st.f + 1e-4 * jnp.dot(st.g, v_new - st.v))
            return good, v_new, f_new, g_new, h_new

        def ls_cond(c):
            alpha, k, ok, *_ = c
            return (~ok) & (k < jnp.where(zeroth | probe, 1, 40))

        def ls_body(c):
            alpha, k, *_ = c
            alpha = alpha * 0.5
            return (alpha, k + 1) + trial(alpha)

        # Backtracking from the unit step (the first trial is alpha = 2 · 0.5).
        start = (jnp.asarray(2.0, dtype), jnp.array(0), jnp.array(False), st.v, st.f, st.g, h_zeros())
        alpha, k, ok, v_new, f_new, g_new, h_new = jax.lax.while_loop(ls_cond, ls_body, start)
        probe_f, probe_decrease, probe_flat = jax.lax.cond(
            probe, lambda: probes.record(st, i, free, v_new, f_new, g_new),
            lambda: (st.probe_f, st.probe_decrease, st.probe_flat))
        ok = ok & ~probe  # from here on a probe pass changes nothing else

        # Write the pair into slot `head` unconditionally, one row in place (O(n)): a select between the new row and
        # the old one became a pass over the whole (m, n) buffer (XLA fused it into the update, ~4 ms per slot and
        # iteration at n = 10⁶). A rejected pair is made inert instead (rho = 0; its α and β vanish in the two-loop
        # recursion), so it costs the oldest pair when the buffer is full; head only moves on a kept pair. (Probe
        # passes do the same: the one probe that uses the quasi-Newton direction is the first, `_Probes`.)
        if newton:  # no pairs; Newton steps trusted again once a step is accepted
            s_hist, y_hist, sy_matrix, rho, head = st.s_hist, st.y_hist, st.sy, st.rho, st.head
            count = jnp.where(ok & ~zeroth, 2, st.count)
        else:
            s, y = v_new - st.v, g_new - st.g
            sy = jnp.dot(s, y)
            keep = ok & (sy > 1e-12 * jnp.dot(y, y)) & ~zeroth
            s_hist = st.s_hist.at[st.head].set(s)
            y_hist = st.y_hist.at[st.head].set(y)
            # the stored pair's row and column of sᵢᵀyⱼ: two products with the history (its n×m product costs ~10×)
            sy_matrix = st.sy.at[st.head, :].set(y_hist @ s).at[:, st.head].set(s_hist @ y)
            rho = st.rho.at[st.head].set(jnp.where(keep, 1.0 / jnp.where(keep, sy, 1.0), 0.0))
            head = jnp.where(keep, (st.head + 1) % m, st.head)
            count = jnp.where(keep, jnp.minimum(st.count + 1, m), st.count)
        # A failed search with memory drops the memory (rho = 0) and retries with steepest descent (Newton: with the
        # next kind of step down, `newton_step`); the third failure ends the solve (the objective is flat to
        # round-off along every direction tried).
        searched = ~zeroth & ~probe
        fails = st.fails + (~ok & searched)
        if newton:
            retry = (~ok) & (kind > 0) & (fails < 3) & searched
            count = jnp.where(retry, kind - 1, count)
        else:
            retry = (~ok) & (st.count > 0) & (fails < 3) & searched
            rho, count = jnp.where(retry, 0.0, rho), jnp.where(retry, 0, count)

        v, f, g = jnp.where(ok, v_new, st.v), jnp.where(ok, f_new, st.f), jnp.where(ok, g_new, st.g)
        # The zeroth pass keeps what the start gave, finite or not (a non-finite start ends the solve).
        f, g = jnp.where(zeroth, f_new, f), jnp.where(zeroth, g_new, g)
        pg = pg_norm(v, g)
        it = st.it + jnp.where(searched, 1, 0)
        pg0 = jnp.where(zeroth, pg, st.pg0)
        tol = atol + rtol * pg0
        f0 = jnp.where(zeroth, f, st.f0)
        progress = f < st.f_best - 8 * jnp.finfo(dtype).eps * jnp.abs(st.f_best)
        f_best = jnp.where(progress | zeroth, f, st.f_best)
        stall = jnp.where(progress | zeroth, 0, st.stall + jnp.where(probe, 0, 1))
        result = jnp.where(pg <= tol, SUCCESS,
                           jnp.where((~ok) & (~retry), LINE_SEARCH_FAILED,
                                     jnp.where(stall >= STALL_ITERATIONS, STALLED,
                                               jnp.where(it >= max_steps, MAX_STEPS, -1))))
        # A start where J or its gradient is not finite ends the solve there.
        result = jnp.where(zeroth, jnp.where(ok, -1, NONFINITE), result)
        result = jnp.where(probe, st.result, result)
        d_new = jax.lax.cond(ok, lambda: diag(v, h_new), lambda: st.d) if preconditioned else st.d
        damping = st.damping
        if products:
            # Levenberg–Marquardt-like: a Newton–CG step taken whole relaxes the damping, one cut back by the line
            # search (a model that overshoots: indefinite or badly scaled H) raises it, more the more it was cut.
            newton_searched = searched & (kind == 2)
            factor = jnp.where(ok & (alpha >= 1), 0.25, 4.0 ** (0.5 - 0.25 * jnp.log2(jnp.minimum(alpha, 1.0))))
            damping = jnp.where(newton_searched, jnp.clip(st.damping * factor, DAMPING_MIN, DAMPING_MAX), damping)
        return _State(v, f, g, s_hist, y_hist, sy_matrix, rho, head, count, it, st.nfev + k, pg, fails, f_best,
                      stall, result, d_new, f0, pg0, st.probe + probe, probe_f, probe_decrease, probe_flat, damping)

    def run(st, until):
        return jax.lax.while_loop(lambda st: (running(st) & (st.it < until)) | probing(st), body, st)

    def finish(final):
        result, extras = probes.verdict(final, verdict(final), tolerance(final))
        what = jnp.where(~jnp.isfinite(final.f), 1, jnp.where(jnp.all(jnp.isfinite(final.g)), 3, 2))
        extras["nonfinite"] = jnp.where(result == NONFINITE, what, 0)
        extras["nonfinite_iteration"] = final.it
        return final.v / sqrt_w, Info(result, final.it, final.nfev, final.pg, final.pg0, final.g * sqrt_w, None,
                                      extras)

    def status(st):
        return st.it, st.f, st.pg, tolerance(st), running(st) | probing(st)

    return Minimiser(init, run, finish, status)


def _rademacher(seed: int, n: int, dtype) -> Array:
    """n fixed pseudo-random signs ±1 (an integer hash of the index: no random-number generator to compile)."""
    h = jnp.arange(n, dtype=jnp.uint32) * jnp.uint32(0x9E3779B1) + jnp.uint32(seed * 0x85EBCA77 % 2**32)
    h = (h ^ (h >> 16)) * jnp.uint32(0x7FEB352D)
    h = (h ^ (h >> 15)) * jnp.uint32(0x846CA68B)
    return jnp.where(((h ^ (h >> 16)) >> 8) & 1, 1.0, -1.0).astype(dtype)


class _Probes:
    """What a stop means, judged against the objective's own round-off: up to 8 + 2·(columns without an upper
    bound) objective evaluations at the answer, made as probe passes of the solver's loop body after the
    iterations stop (its one call site of the objective: no copy of it compiled for them). A solve that reached
    its tolerance from a start above round-off makes only the last two per column; the others make all:

    - the curvature κ of J along the quasi-Newton direction and along the projected gradient (finite difference
      of the gradient over a step √ε·‖v‖), so the predicted decrease of a Newton step along each, γ²/(2κ)
      (γ the slope). When both are below J's noise no step can show a decrease: the solve has converged to
      round-off. The floor in the projected gradient's units is pg·√(noise / predicted decrease). (The
      quasi-Newton probe is the first: each probe pass, like a rejected step, overwrites one history slot.)
    - the noise of J: the spread of J under two perturbations of the controls by 4 ulp (fixed ±1 signs), and
      at least ε·|J|·√n (n rounded terms summed);
    - when the solve has not decreased J beyond its noise (the start was already stationary to round-off, so
      the relative tolerance measured nothing), trial steps ±10% and ±1% of each column's peak along fixed signs
      on the free set: a decrease beyond the noise is a saddle or maximum, not a minimum;
    - for each control column without an upper bound: J with its positive values scaled ×4 and ×16. If
      neither raises J beyond its noise the objective runs to that bound's infinity: not converged, unbounded.

    `verdict` returns the final result code and the diagnostics: `tolerance`, `roundoff_floor` (projected-gradient
    units), `objective_noise`, `flat_controls` (free controls whose change by the column's peak moves J less
    than its noise: the objective does not depend on them, e.g. under a discount that underflows), and
    `unbounded_control` (column index, or -1).
    """

    GROW, NOISE, TRIAL, ALONG = 0, 1, 2, 3
    # positions in the table: the quasi-Newton and projected-gradient probes, the noise pair, the +10% trial, the
    # other trials (the unbounded probes follow them)
    QUASI_NEWTON, GRADIENT, NOISE_AT, TRIAL_AT, TRIALS = 0, 1, 2, 4, slice(5, 8)

    def __init__(self, n, dtype, columns, upper_infinite, sqrt_w, proj):
        self.n, self.dtype, self.columns, self.upper_infinite = n, dtype, columns, upper_infinite
        self.sqrt_w, self.proj = sqrt_w, proj
        # (kind, parameter, column) of each probe point, in evaluation order
        table = [(self.ALONG, 1, 0), (self.ALONG, 0, 0), (self.NOISE, 0, 0), (self.NOISE, 1, 0),
                 (self.TRIAL, 0.1, 0), (self.TRIAL, -0.1, 0), (self.TRIAL, 0.01, 0), (self.TRIAL, -0.01, 0)]
        self.unbounded_at = {}
        for j in range(columns):
            if upper_infinite[j]:
                self.unbounded_at[j] = len(table)
                table += [(self.GROW, 4.0, j), (self.GROW, 16.0, j)]
        self.kind, self.parameter, self.column = (np.array(c) for c in zip(*table))
        self.count = len(table)
        self.always = 2 * len(self.unbounded_at)

    def needed(self, st, result):
        """How many probes the stop needs (the last ones of the table): all of them for a stop short of the
        tolerance or a start already at round-off (`no_progress`), else the unbounded ones."""
        return jnp.where(self._stopped_short(result) | self._no_progress(st), self.count, self.always)

    def index(self, st, result):
        """The table position of the next probe."""
        return st.probe + self.count - self.needed(st, result)

    def _stopped_short(self, result):
        return (result == STALLED) | (result == LINE_SEARCH_FAILED)

    def _no_progress(self, st):
        # No decrease beyond the objective's noise (here its a-priori part, 4ε·|J|·√n): the start was already
        # stationary to round-off.
        eps = jnp.finfo(self.dtype).eps
        return st.f0 - st.f <= 4 * eps * jnp.abs(st.f) * jnp.sqrt(jnp.asarray(self.n, self.dtype))

    def _reach(self, v):
        # each control's column peak |x| (1 for a column that is all zero): the scale of the trial steps
        col = jnp.arange(self.n) % self.columns
        peak = jnp.stack([jnp.max(jnp.where(col == j, jnp.abs(v / self.sqrt_w), 0.0)) for j in range(self.columns)])
        return jnp.where(peak > 0, peak, 1.0)[col]

    def point(self, i, v, p, d, free):
        """Probe point i at the answer v (p and d the projected-gradient and quasi-Newton directions on the free
        set `free`)."""
        eps = jnp.finfo(self.dtype).eps
        kind, par, column = (jnp.asarray(a)[i] for a in (self.kind, self.parameter, self.column))
        par = par.astype(self.dtype)
        col = jnp.arange(self.n) % self.columns

        def grow():
            return jnp.where((col == column) & (v > 0), par * v, v)

        def noise():
            return v * (1 + 4 * eps * jnp.where(par == 0, _rademacher(1, self.n, self.dtype),
                                                _rademacher(2, self.n, self.dtype)))

        def trial():
            signs = jnp.where(free, _rademacher(3, self.n, self.dtype), 0.0)
            return v + par * self._reach(v) * self.sqrt_w * signs

        def along():
            dirn = jnp.where(par == 0, p, d)
            vnorm, nrm = jnp.linalg.norm(v), jnp.linalg.norm(dirn)
            h = jnp.sqrt(eps) * jnp.where(vnorm > 0, vnorm, 1.0)
            return v + h * dirn / jnp.where(nrm > 0, nrm, 1.0)

        return self.proj(jax.lax.switch(kind, [grow, noise, trial, along]))

    def record(self, st, i, free, v_i, f_i, g_i):
        """Probe i's findings: J at its point; along the curvature probes the predicted decrease; at the +10%
        trial the count of flat controls (`free`: the answer's free set, to round-off)."""
        v, f, g = st.v, st.f, st.g
        fs = st.probe_f.at[i].set(jnp.where(jnp.isnan(f_i), jnp.inf, f_i))
        s = v_i - v
        ss, gamma, kappa = jnp.dot(s, s), jnp.abs(jnp.dot(g, s)), jnp.dot(s, g_i - g)
        # γ²/(2κ): slope²/(2·curvature) in the direction s; no positive curvature → unresolved (infinite) unless
        # the slope is zero too.
        dec = jnp.where(kappa > 0, gamma**2 / (2 * jnp.where(kappa > 0, kappa, 1.0)),
                        jnp.where(gamma > 0, jnp.inf, 0.0))
        dec = jnp.where((ss > 0) & jnp.all(jnp.isfinite(g_i)), dec, jnp.where(ss > 0, jnp.inf, 0.0))
        decrease = jnp.where(i <= self.GRADIENT, st.probe_decrease.at[jnp.minimum(i, 1)].set(dec),
                             st.probe_decrease)
        # Flat: the slope at the answer and at the +10% trial point (where a control that matters has a slope of
        # about its curvature × 10% of the peak) both move J by less than its noise over the column's peak.
        reach, noise = self._reach(v), self._noise(fs, f)
        flat = jnp.sum(free & (jnp.abs(g * self.sqrt_w) * reach <= noise)
                       & (jnp.abs(g_i * self.sqrt_w) * reach <= noise))
        return fs, decrease, jnp.where(i == self.TRIAL_AT, flat, st.probe_flat)

    def _noise(self, fs, f):
        eps, pair = jnp.finfo(self.dtype).eps, fs[self.NOISE_AT:self.NOISE_AT + 2]
        spread = jnp.where(jnp.isfinite(pair), pair - f, 0.0)
        return jnp.maximum(jnp.max(jnp.abs(spread)), eps * jnp.abs(f) * jnp.sqrt(jnp.asarray(self.n, self.dtype)))

    def verdict(self, st, result, tol):
        """The final result code and diagnostics from the probes made."""
        v, f, g, fs = st.v, st.f, st.g, st.probe_f
        all_probes = st.probe >= self.count
        noise = self._noise(fs, f)
        pred = jnp.max(st.probe_decrease)
        floor = jnp.where(pred > 0, st.pg * jnp.sqrt(noise / jnp.where(pred > 0, pred, 1.0)), jnp.inf)
        floor = jnp.where(all_probes, floor, jnp.nan)  # not measured where no verdict needed it
        at_roundoff = all_probes & (pred <= noise)
        col = jnp.arange(self.n) % self.columns
        unbounded = jnp.asarray([(jnp.any((col == j) & (v > 0)) & (fs[self.unbounded_at[j]] <= f + noise)
                                  & (fs[self.unbounded_at[j] + 1] <= f + noise)) if self.upper_infinite[j]
                                 else jnp.array(False) for j in range(self.columns)])
        unbounded_control = jnp.where(jnp.any(unbounded), jnp.argmax(unbounded), -1)
        descent_trial = (fs[self.TRIAL_AT] < f - noise) | (jnp.min(fs[self.TRIALS]) < f - noise)
        flat = jnp.where(all_probes, st.probe_flat, 0)
        no_progress = self._no_progress(st)
        finite = jnp.isfinite(f) & jnp.all(jnp.isfinite(g)) & jnp.all(jnp.isfinite(v))
        result = jnp.where(self._stopped_short(result) & at_roundoff, SUCCESS, result)
        result = jnp.where((result == SUCCESS) & no_progress & descent_trial, NOT_VERIFIED, result)
        result = jnp.where((unbounded_control >= 0) & (result != NONFINITE), UNBOUNDED, result)
        result = jnp.where(finite, result, NONFINITE)
        extras = {"tolerance": tol, "roundoff_floor": floor, "objective_noise": noise, "flat_controls": flat,
                  "controls": self.n, "unbounded_control": unbounded_control, "start_at_roundoff": no_progress}
        return result, extras
