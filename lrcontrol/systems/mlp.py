"""Full-batch gradient flow of a one-hidden-layer MLP with smooth units on a fixed dataset (e.g. real digits).

The real-data test bed of Njaradi, Carrasco-Davis, Latham & Saxe 2026, arXiv 2601.07830 ("MNIST" [P]): the paper
validates the effort framework on MNIST with smooth activations; no MNIST copy can be downloaded here, so
`MLP.digits()` uses scikit-learn's bundled 8×8 handwritten digits (1797 images, 10 classes). Training is gradient
flow ẇ = −μ∇L of the mean softmax cross-entropy over the whole fixed set (full batch, no sampling noise),
integrated by RK4 like any system without an exact flow.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
from jaxtyping import Array, PyTree, Scalar

from .._errors import InputError, Overflow, Param, check_int
from ._base import AbstractContinuousSystem

ACTIVATIONS = {"tanh": jnp.tanh, "softplus": jax.nn.softplus, "gelu": jax.nn.gelu}


class MLP(AbstractContinuousSystem):
    """x → W₂ g(W₁x + b₁) + b₂ → softmax cross-entropy, trained by full-batch gradient flow.

    State: `{"W1": (hidden, features), "b1": (hidden,), "W2": (classes, hidden), "b2": (classes,)}`.
    Initial weights: W₁ ~ N(0, 1/features), W₂ ~ N(0, 1/hidden) (variance-preserving), biases 0, all times
    `init_scale`; drawn from `jax.random.PRNGKey(seed)`.

    **Arguments:** `inputs` (P, features) array; `labels` (P,) whole numbers 0…classes−1; `hidden` ≥ 1;
    `activation` "tanh", "softplus" or "gelu" (smooth: the effort law needs a smooth loss); `init_scale` > 0;
    `seed` ≥ 0.
    """

    name: ClassVar[str] = "mlp"

    parameters: ClassVar = (
        Param("inputs", "the fixed inputs, a finite (samples, features) array", "array"),
        Param("labels", "one whole-number class label 0…classes−1 per input", "array"),
        Param("hidden", "hidden units >= 1", int),
        Param("activation", "smooth hidden-unit activation: tanh, softplus or gelu", str,
              choices=tuple(ACTIVATIONS)),
        Param("init_scale", "scale > 0 of the variance-preserving initial weights", lo=0.0, lo_open=True),
        Param("seed", "random seed >= 0 of the initial weights", int, lo=0))
    overflow: ClassVar = (Overflow(("init_scale",), "init_scale² (the initial logits' variance scale)",
                                   lambda s: s**2),)

    hidden: int = eqx.field(static=True)
    classes: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    seed: int = eqx.field(static=True)
    inputs: Array
    labels: Array
    init_scale: Array
    initial_params: dict

    def __init__(self, inputs, labels, hidden: int = 16, activation: str = "tanh", init_scale=1.0, seed: int = 0):
        try:
            x = np.asarray(inputs, dtype=float)
        except (TypeError, ValueError):
            raise InputError("inputs must be a finite 2-D array of numbers (samples, features).") from None
        y = np.asarray(labels)
        if x.ndim != 2 or x.shape[0] < 1 or not np.all(np.isfinite(x)):
            raise InputError(f"inputs must be a finite 2-D array (samples, features), got shape {x.shape}.")
        if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise InputError(f"labels must be {x.shape[0]} whole numbers >= 0 (one per row of inputs).")
        p = self._checked(activation=activation, hidden=hidden, seed=seed, init_scale=init_scale)
        self.hidden, self.seed = p["hidden"], p["seed"]
        self.classes = int(y.max()) + 1
        self.activation = activation
        self.inputs = jnp.asarray(x)
        self.labels = jnp.asarray(y, dtype=jnp.int32)
        self.init_scale = jnp.asarray(init_scale, dtype=float)
        k1, k2 = jax.random.split(jax.random.PRNGKey(self.seed))
        features = x.shape[1]
        self.initial_params = {
            "W1": self.init_scale * jax.random.normal(k1, (self.hidden, features)) / np.sqrt(features),
            "b1": jnp.zeros(self.hidden),
            "W2": self.init_scale * jax.random.normal(k2, (self.classes, self.hidden)) / np.sqrt(self.hidden),
            "b2": jnp.zeros(self.classes)}

    @classmethod
    def digits(cls, samples: int | None = None, **kwargs) -> "MLP":
        """scikit-learn's bundled 8×8 digits: pixels scaled to [0, 1] then centred per feature; `samples` takes
        the first P images (default all 1797). Needs scikit-learn (`pip install scikit-learn`)."""
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise InputError("MLP.digits needs scikit-learn for its bundled digits data: pip install scikit-learn."
                             ) from None
        data = load_digits()
        total = data.data.shape[0]
        n = total if samples is None else check_int("samples", samples, lo=1)
        if n > total:
            raise InputError(f"samples must be a whole number from 1 to {total}, got {n}.")
        x = data.data[:n] / 16.0
        return cls(x - x.mean(axis=0), data.target[:n], **kwargs)

    def initial_state(self) -> dict[str, Array]:
        return self.initial_params

    def logits(self, state: PyTree[Array], x: Array) -> Array:
        h = ACTIVATIONS[self.activation](x @ state["W1"].T + state["b1"])
        return h @ state["W2"].T + state["b2"]

    def loss(self, state: PyTree[Array]) -> Scalar:
        """Mean softmax cross-entropy over the whole set."""
        logp = jax.nn.log_softmax(self.logits(state, self.inputs))
        return -jnp.mean(jnp.take_along_axis(logp, self.labels[:, None], axis=1))

    def accuracy(self, state: PyTree[Array]) -> Scalar:
        return jnp.mean(jnp.argmax(self.logits(state, self.inputs), axis=1) == self.labels)

    def vector_field(self, t, state, controls):
        return jtu.tree_map(lambda g: -controls[0] * g, jax.grad(self.loss)(state))

    def params(self):
        return {"samples": int(self.inputs.shape[0]), "features": int(self.inputs.shape[1]),
                "hidden": self.hidden, "activation": self.activation, "init_scale": float(self.init_scale),
                "seed": self.seed}
