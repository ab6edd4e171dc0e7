"""What the harness trains: a task is the model, its minibatches, its loss and its fixed validation set.

Two tasks, named by `TrainConfig.task`:

- `"shakespeare"`: the character-level transformer (`model.py`) on Shakespeare's plays (`data.py`; the optional
  extra `[train]`). A training example is a window of `context` characters; the loss is the mean next-character
  cross-entropy in nats; `size` picks the transformer (`model.SIZES`).
- `"digits"`: the cheaper second task — a one-hidden-layer tanh MLP (the shape of `lrc.systems.MLP`, here
  trained by minibatch AdamW instead of full-batch gradient flow) classifying scikit-learn's bundled 8×8
  handwritten digits (1797 images, 10 classes; needs scikit-learn, the extra `[data]`). Pixels are scaled to
  [0, 1] and centred by the training images' mean. The split is fixed: the images are shuffled once by
  `default_rng(1234)` and the last `val_fraction` of them are held out. The loss is the mean softmax
  cross-entropy in nats; `size` picks the hidden width (`DIGITS_WIDTHS`).

A task is hashable (runs in one process share a compilation per task). Its methods: `init(seed)` the model
(float32, from PRNGKey(seed)), `train_data()` the training arrays as a pytree on the device, `sample(data, key,
step, batch)` the minibatch (inputs, targets) of update `step` (traceable; deterministic in (key, step), so runs
with one seed see the same data in the same order whatever their schedule), `validation(n)` the fixed validation
set of n examples, and `loss(model, inputs, targets)`.
"""

from dataclasses import dataclass
from functools import lru_cache

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._errors import InputError
from . import data as D
from .model import ModelConfig, as_float32, init_model, sequence_loss

DIGITS_WIDTHS = {"tiny": 16, "mini": 32, "quick": 64, "small": 128, "base": 256, "large": 512}


@dataclass(frozen=True)
class Shakespeare:
    """The character transformer on Shakespeare's plays (see the module docstring)."""

    size: str = "quick"
    val_fraction: float = 0.1

    def __post_init__(self):
        ModelConfig(self.size)  # a clear error for an unknown size

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig(self.size, D.load_corpus(self.val_fraction).vocab_size)

    def init(self, seed: int):
        return init_model(self.model_config, seed)

    def train_data(self):
        return D.as_device(D.load_corpus(self.val_fraction).train)

    def sample(self, tokens, key, step, batch: int):
        context = self.model_config.context
        offsets = D.batch_offsets(key, step, batch, context, tokens.shape[0])
        return D.windows(tokens, offsets, context)

    def validation(self, n: int):
        val, context = D.load_corpus(self.val_fraction).val, self.model_config.context
        offs = D.validation_offsets(len(val), n, context)
        vx, vy = (np.asarray(a) for a in D.windows(jnp.asarray(val), jnp.asarray(offs), context))
        return jnp.asarray(vx), jnp.asarray(vy)

    @staticmethod
    def loss(model, inputs, targets):
        return sequence_loss(model, inputs, targets)


@lru_cache(maxsize=4)
def _digits_split(val_fraction: float):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise InputError("the task 'digits' needs scikit-learn for its bundled digits data (pip install "
                         "'lrcontrol[data]' or scikit-learn).") from None
    d = load_digits()
    order = np.random.default_rng(1234).permutation(d.data.shape[0])
    x, y = d.data[order] / 16.0, d.target[order].astype(np.int32)
    cut = int(round(len(y) * (1 - val_fraction)))
    mean = x[:cut].mean(axis=0)
    return (x[:cut] - mean).astype(np.float32), y[:cut], (x[cut:] - mean).astype(np.float32), y[cut:]


class DigitsMLP(eqx.Module):
    """logits = W2 tanh(W1 x + b1) + b2 for one image x (64,); LeCun-normal weights, zero biases."""

    hidden: eqx.nn.Linear
    out: eqx.nn.Linear

    def __init__(self, width: int, key):
        k1, k2 = jax.random.split(key)
        self.hidden = eqx.nn.Linear(64, width, key=k1)
        self.out = eqx.nn.Linear(width, 10, key=k2)

    def __call__(self, x):
        return self.out(jnp.tanh(self.hidden(x)))


@dataclass(frozen=True)
class Digits:
    """The MLP on scikit-learn's 8×8 digits (see the module docstring)."""

    size: str = "quick"
    val_fraction: float = 0.1

    def __post_init__(self):
        if self.size not in DIGITS_WIDTHS:
            raise InputError(f"size must be one of {', '.join(DIGITS_WIDTHS)} for the task 'digits', "
                             f"got {self.size!r}.")

    def init(self, seed: int):
        return as_float32(DigitsMLP(DIGITS_WIDTHS[self.size], jax.random.PRNGKey(seed)))

    def train_data(self):
        x, y, _, _ = _digits_split(self.val_fraction)
        return jnp.asarray(x), jnp.asarray(y)

    def sample(self, data, key, step, batch: int):
        x, y = data
        idx = jax.random.randint(jax.random.fold_in(key, step), (batch,), 0, y.shape[0])
        return x[idx], y[idx]

    def validation(self, n: int):
        _, _, vx, vy = _digits_split(self.val_fraction)
        if n > len(vy):
            raise InputError(f"val_windows must be at most {len(vy)} for the task 'digits' (the held-out images "
                             f"at val_fraction {self.val_fraction:g}), got {n}.")
        return jnp.asarray(vx[:n]), jnp.asarray(vy[:n])

    @staticmethod
    def loss(model, inputs, targets):
        logp = jax.nn.log_softmax(jax.vmap(model)(inputs), axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, targets[:, None], axis=-1))


TASKS = {"shakespeare": Shakespeare, "digits": Digits}


def get_task(name: str, size: str, val_fraction: float):
    """The task `name` (one of TASKS) at `size`; a clear error for an unknown name or size."""
    if name not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}, got {name!r}.")
    return TASKS[name](size, val_fraction)
