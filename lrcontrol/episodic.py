"""Episodic memory: forecast a run's final loss from the learning curves of past runs (Nadaraya–Watson).

Njaradi et al. (2026, arXiv 2601.07830, "episodic memory") let the learner estimate the final performance
P(T) that its closed-loop law needs by recalling similar past learning experiences. The mechanism is stated in the
paper; the exact form below is this project's reconstruction [?]: each stored curve is weighted by a
Gaussian kernel of its distance to the current partial curve, and the forecast is the weighted mean of the stored
final losses.

Distances compare log-losses (root-mean-square over the nodes observed so far): tasks of different difficulty
differ in loss by factors, so a log scale makes one bandwidth serve easy and hard tasks alike.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, Scalar

from ._errors import InputError, check_real


class EpisodicMemory(eqx.Module):
    """Stored learning curves and a Gaussian-kernel (Nadaraya–Watson) forecast of the final loss.

    **Arguments:**

    - `curves`: (episodes, nodes) losses of past runs at the same training steps as the current run (node k
      after k steps), all > 0.
    - `bandwidth`: h > 0, the kernel width in log-loss units: weights ∝ exp(−D²/(2h²)) with D the RMS distance
      between log-losses over the observed nodes. Default None: chosen by leave-one-out on the memory itself
      (each stored curve forecast from the others at 10%, 30% and 60% of its length; the h among 10⁻³…1 with
      the smallest mean relative error of the forecast final loss), so h shrinks as the memory grows.
    - `final_losses`: what to average (default: each curve's last value, L(T) of that past run).

    `forecast(history, count)` uses `history[0..count]`, the current run's losses so far; later entries are
    ignored, so a fixed-size buffer can be filled as training goes (what `controllers.closed_loop` does).
    """

    log_curves: Float[Array, "episodes nodes"]
    final_losses: Float[Array, " episodes"]
    bandwidth: Array

    def __init__(self, curves, bandwidth=None, final_losses=None):
        curves = np.asarray(curves, dtype=float)
        if curves.ndim != 2 or curves.shape[0] < 1 or curves.shape[1] < 2:
            raise InputError(f"curves must be a 2-D array (episodes >= 1, nodes >= 2), got shape {curves.shape}.")
        if not (np.all(np.isfinite(curves)) and np.all(curves > 0)):
            raise InputError("curves must hold finite losses > 0 (the memory compares log-losses).")
        finals = curves[:, -1] if final_losses is None else np.asarray(final_losses, dtype=float)
        if finals.shape != (curves.shape[0],):
            raise InputError(f"final_losses must have one value per episode ({curves.shape[0]}), "
                             f"got shape {finals.shape}.")
        if bandwidth is None:
            if curves.shape[0] < 2:
                raise InputError("bandwidth must be given (a number > 0) for a memory of one episode: leave-one-"
                                 "out needs at least two.")
            bandwidth = _leave_one_out_bandwidth(np.log(curves), finals)
        check_real("bandwidth", bandwidth, lo=0.0, lo_open=True)
        self.log_curves = jnp.log(jnp.asarray(curves))
        self.final_losses = jnp.asarray(finals)
        self.bandwidth = jnp.asarray(bandwidth, dtype=float)

    @property
    def episodes(self) -> int:
        return self.log_curves.shape[0]

    @property
    def nodes(self) -> int:
        return self.log_curves.shape[1]

    def weights(self, history: Float[Array, " nodes"], count: Int[Array, ""] | int) -> Float[Array, " episodes"]:
        """Normalised kernel weights of the stored episodes given the current losses history[0..count]."""
        count = jnp.clip(count, 0, self.nodes - 1)
        seen = jnp.arange(self.nodes) <= count
        log_h = jnp.log(jnp.where(seen, jnp.asarray(history, float), 1.0))
        sq = jnp.where(seen, (self.log_curves - log_h) ** 2, 0.0)
        dist_sq = jnp.sum(sq, axis=1) / (count + 1)
        return jax.nn.softmax(-dist_sq / (2 * self.bandwidth**2))  # stable even when every weight underflows

    def forecast(self, history: Float[Array, " nodes"], count: Int[Array, ""] | int) -> Scalar:
        """L̂(T): the kernel-weighted mean of the stored final losses."""
        return self.weights(history, count) @ self.final_losses


def _leave_one_out_bandwidth(log_curves: np.ndarray, finals: np.ndarray) -> float:
    """The kernel width among 10⁻³…1 (25 on a log grid) whose leave-one-out forecasts of the stored final losses,
    from 10%, 30% and 60% of each stored curve, have the smallest mean relative error."""
    candidates = np.logspace(-3, 0, 25)
    nodes = log_curves.shape[1]
    errors = np.zeros_like(candidates)
    for count in (nodes // 10, nodes * 3 // 10, nodes * 6 // 10):
        seen = log_curves[:, : count + 1]
        sq = np.sum(seen**2, axis=1)
        dist_sq = np.maximum(sq[:, None] + sq[None, :] - 2 * seen @ seen.T, 0.0) / (count + 1)
        np.fill_diagonal(dist_sq, np.inf)  # leave the curve itself out
        for i, h in enumerate(candidates):
            logits = -dist_sq / (2 * h**2)
            w = np.exp(logits - logits.max(axis=1, keepdims=True))
            estimate = (w @ finals) / w.sum(axis=1)
            errors[i] += np.mean(np.abs(estimate - finals) / np.abs(finals))
    return float(candidates[np.argmin(errors)])
