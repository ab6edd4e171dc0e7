"""What a loss-curve law supplies: a closed-form prediction of a training run's loss from its whole schedule.

A law (multi-power, momentum, FSL practical form, convex bound) is a discrete system whose controls are the rates
of updates s = 0 … N−1 and whose final loss is a closed-form functional of all of them. Conventions (those of the
shared pretraining curves): the loss logged at step s is measured after update s and predicted from the rates of
updates 0 … s; intrinsic time S1(s) = Σ_{τ=0..s} η_τ.

A law module writes its parameters as fields, their specs (`parameters`: one `Param` each, an open range) and
`predict`; the base supplies the rest: `param_names` and `param_ranges` (read off the specs), checked storage
(`_store`), `final_loss` (`predict` at the last step), `loss_curve` (every step, node 0 undefined), a state (the
intrinsic time S1) so that the toolkit's discrete-system machinery applies, and the parameter vector for fitting
(`from_vector` / `to_vector`).
"""

import abc
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, Scalar

from .._errors import InputError
from ._base import AbstractDiscreteSystem


class AbstractLossCurveLaw(AbstractDiscreteSystem):
    """A loss-curve law L̂(s; η_0 … η_s) with parameters θ (fields named by `param_names`).

    Subclasses set `name` and `parameters` (one float `Param` per law parameter, open ranges: the valid range a
    fit stays in; their order is that of the parameter vector and of the law file's `params`) and implement
    `predict`. Their `__init__` passes its arguments to `_store`, which checks each (one sentence naming it) and
    keeps it as a float array, so that `jax.vmap` over parameters works.
    """

    param_names: ClassVar[tuple[str, ...]] = ()  # derived from `parameters` for each subclass
    param_ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {}
    # True: `LawSchedule` hands the solver `HessianProducts` (Newton–CG steps) rather than its diagonal estimate alone,
    # for a law under which that diagonal steers L-BFGS badly (the FSL law: README, loss-curve laws)
    schedule_newton: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        specs = cls.__dict__.get("parameters")
        if specs:
            cls.param_names = tuple(p.name for p in specs)
            cls.param_ranges = {p.name: (p.lo, p.hi) for p in specs}

    def _store(self, **values) -> None:
        """Check the law's parameters against `parameters` and keep each as a float array."""
        self._checked(**values)
        for n in self.param_names:
            setattr(self, n, jnp.asarray(values[n], dtype=float))

    @abc.abstractmethod
    def predict(self, lr: Float[Array, " N"], steps: Int[Array, " M"]) -> Float[Array, " M"]:
        """The predicted loss after update s, for each s in `steps` (0 <= s < N), from the rates `lr` of updates
        0 … N−1 (only those up to s matter)."""

    def predict_jacobian(self, lr: Float[Array, " N"], steps: Int[Array, " M"]):
        """(`predict`, ∂predict/∂θ of shape (M, p) in `param_names` order) in one pass, for `lrc.fit`; None (the
        default) where the law has no such pass: the fit then differentiates `predict` by autodiff."""
        return None

    @staticmethod
    def plan(lr, steps):
        """The schedule-only work of `predict` done once for concrete rates and steps, as (arrays, static) for
        `predict_planned` (`lrc.fit` plans each curve once and passes the arrays to `jit` as arguments); None (the
        default) where the law has no such split: the fit then calls `predict`."""
        return None

    def predict_planned(self, arrays, static, jac: bool = False):
        """`predict` (and with `jac`, `predict_jacobian`) from a `plan`; only for a law whose `plan` is not None."""
        raise NotImplementedError(f"the law '{self.name}' has no planned prediction (its plan is None).")

    def _evaluate_planned(self, lr, steps, jac: bool):
        """`predict_planned` of the rates and steps, for a law with `plan` and `_traced_plan`: concrete rates are
        planned in numpy (zero decrements dropped) and run as one compiled call (fast eagerly too); traced rates
        take `_traced_plan` (every decrement)."""
        try:
            arrays, static = self.plan(np.asarray(lr), np.asarray(steps))
        except jax.errors.TracerArrayConversionError:
            arrays, static = self._traced_plan(jnp.asarray(lr), jnp.asarray(steps))
            return self.predict_planned(arrays, static, jac)
        return _predict_planned_jit(self, arrays, static, jac)

    @classmethod
    def initial_grid(cls, curves) -> dict[str, list[float]] | None:
        """Starting values per parameter for `lrc.fit`; None (the default): the fit's generic grid (three values
        across each parameter's range)."""
        return None

    # --- the discrete-system interface ---------------------------------------------------------------------

    def initial_state(self) -> Scalar:
        return jnp.zeros(())  # intrinsic time S1 = Σ η before any update

    def step(self, state: Scalar, controls: Float[Array, " m"], k: Array) -> Scalar:
        return state + controls[0]

    def loss(self, state: Scalar) -> Scalar:
        raise InputError(f"the law '{self.name}' predicts the loss from the whole schedule, not from a state: use "
                         f"predict or loss_curve.")

    def final_loss(self, controls: Float[Array, "n m"]) -> Scalar:
        lr = jnp.reshape(controls[:, 0] if controls.ndim == 2 else controls, (-1,))
        return self.predict(lr, jnp.array([lr.shape[0] - 1]))[0]

    def loss_curve(self, controls: Float[Array, "n m"]):
        """(S1 after all n updates, the loss at the n+1 nodes). Node 0 (before any update) is NaN: a law
        predicts the loss after an update (its S1^−α term diverges at S1 = 0)."""
        lr = jnp.reshape(controls[:, 0] if controls.ndim == 2 else controls, (-1,))
        curve = self.predict(lr, jnp.arange(lr.shape[0]))
        return jnp.sum(lr), jnp.concatenate([jnp.full((1,), jnp.nan, curve.dtype), curve])

    def staircase_final_loss(self, lead: Float[Array, " W"], levels: Float[Array, " J"],
                             lengths: Float[Array, " J"]) -> Scalar | None:
        """The final loss of the rates `lead` (e.g. the warm-up) followed by `levels[j]` held for `lengths[j]`
        updates, j = 0 … J−1, with real lengths >= 0: the staircase in continuous time, a fall landing between two
        updates. Must equal `final_loss` of the expanded per-update rates when the lengths are integers >= 1 (a
        test checks it), and be smooth in the lengths. None (the default): the law has no such form, and
        `lrcontrol.systems.law_staircase` does not search staircases under it."""
        return None

    def s1_curvature(self, rates: Float[Array, " N"]) -> Scalar:
        """c where the law's final loss has a term in S1 = Σ η alone whose Hessian in the rates is c·11ᵀ (a
        preconditioner's rank-one part, `LawSchedule`); default 0 (none known)."""
        return jnp.zeros((), jnp.result_type(rates))

    # --- parameters ------------------------------------------------------------------------------------------

    def params(self) -> dict[str, float]:
        return {n: float(getattr(self, n)) for n in self.param_names}

    def to_vector(self) -> Float[Array, " p"]:
        """The parameters in `param_names` order."""
        return jnp.stack([jnp.asarray(getattr(self, n), float) for n in self.param_names])

    @classmethod
    def from_vector(cls, theta: Float[Array, " p"]) -> "AbstractLossCurveLaw":
        """The law with parameters `theta` (in `param_names` order); traced values skip validation."""
        return cls(**{n: theta[i] for i, n in enumerate(cls.param_names)})


def decrement_chunks(lr, steps, size: int):
    """The schedule-only skeleton of a decrement-sum law's `plan` (numpy, for concrete rates and steps).

    A law of the form Σ_{k≤s} d_k·g(s, k), d_k = η_{k−1} − η_k, needs only the decrements that are not zero, and a
    decrement k only enters the losses at steps s >= k. Returns (sorted steps, inverse, prefix, chunks, firsts):
    the steps sorted (`inverse[j]` is the sorted position of the caller's step j), prefix[s] = Σ_{τ≤s} η_τ, the
    non-zero decrements 1 <= k <= max(steps) in equal chunks of at most `size` — each a pair (k, d), padded with
    the chunk's last index (with none, index 1, or 0 for a one-update schedule) and a zero decrement — and for each
    chunk the first sorted step it reaches (a chunk works on the steps from there on: about half of the
    step × decrement pairs for a decay spread over the run).
    """
    lr = np.asarray(lr, float).reshape(-1)
    steps = np.asarray(steps, int).reshape(-1)
    order = np.argsort(steps, kind="stable")
    sorted_steps = steps[order]
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    prefix = np.cumsum(lr)
    ks = np.arange(1, lr.size)
    ks = ks[(lr[:-1] != lr[1:]) & (ks <= (sorted_steps[-1] if steps.size else -1))]
    n_chunks = max(1, -(-ks.size // size))
    width = max(1, -(-ks.size // n_chunks))
    chunks, firsts = [], []
    for c in range(n_chunks):
        kc = ks[c * width:(c + 1) * width]
        pad = width - kc.size
        chunks.append((np.concatenate([kc, np.full(pad, kc[-1] if kc.size else min(1, lr.size - 1), int)]),
                       np.concatenate([lr[kc - 1] - lr[kc], np.zeros(pad)])))
        firsts.append(int(np.searchsorted(sorted_steps, kc[0])) if kc.size else int(steps.size))
    return sorted_steps, inverse, prefix, chunks, tuple(firsts)


def planned_sums(chunk_sums, arrays, firsts, n_out: int):
    """(S1 at the steps, Σ over a plan's chunks of `chunk_sums(chunk, steps, at)`, shape (n_out, steps)), in the
    caller's step order. Each chunk works on the steps from the first it reaches (`decrement_chunks`); with
    `firsts` None the chunks are stacked and mapped over every step (`lax.map` under `jax.checkpoint`: one chunk's
    intermediates at a time, also in reverse mode)."""
    steps, at = jnp.asarray(arrays["steps"]), jnp.asarray(arrays["at"])
    chunks = jax.tree_util.tree_map(jnp.asarray, arrays["chunks"])
    if firsts is None:
        total = jnp.sum(jax.lax.map(jax.checkpoint(lambda c: chunk_sums(c, steps, at)), chunks), axis=0)
    else:
        total = jnp.zeros((n_out, steps.shape[0]), at.dtype)
        for chunk, first in zip(chunks, firsts):
            if first < steps.shape[0]:
                total = total.at[:, first:].add(chunk_sums(chunk, steps[first:], at[first:]))
    inverse = arrays["inverse"]
    if inverse is not None:  # back to the caller's order
        at, total = at[inverse], total[:, inverse]
    return at, total


_predict_planned_jit = jax.jit(lambda law, arrays, static, jac: law.predict_planned(arrays, static, jac),
                               static_argnums=(2, 3))
