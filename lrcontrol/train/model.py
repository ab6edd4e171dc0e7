"""A character-level decoder-only transformer in equinox (GPT-style, pre-LayerNorm).

tokens (T,) → token embedding + learned position embedding → `layers` blocks of
x + Attn(LN(x)) (causal multi-head self-attention) and x + MLP(LN(x)) (d → 4d → d, GELU) → LN → linear head →
logits (T, vocab). `ModelConfig.size` picks the width, depth, heads and context; float32 throughout.
"""

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp

from .._errors import InputError

SIZES = {  # name: (width d, layers, heads, context)
    "tiny": (32, 1, 2, 32),
    "mini": (48, 2, 4, 48),
    "quick": (64, 2, 4, 64),
    "small": (128, 4, 4, 128),
    "base": (256, 6, 8, 256),
    "large": (512, 8, 8, 256),
}


@dataclass(frozen=True)
class ModelConfig:
    """The transformer's shape: `size` one of SIZES (tiny, mini, quick, small, base, large), `vocab_size` from the
    data."""

    size: str = "quick"
    vocab_size: int = 84

    def __post_init__(self):
        if self.size not in SIZES:
            raise InputError(f"size must be one of {', '.join(SIZES)}, got {self.size!r}.")

    @property
    def width(self) -> int:
        return SIZES[self.size][0]

    @property
    def layers(self) -> int:
        return SIZES[self.size][1]

    @property
    def heads(self) -> int:
        return SIZES[self.size][2]

    @property
    def context(self) -> int:
        return SIZES[self.size][3]


class Block(eqx.Module):
    ln1: eqx.nn.LayerNorm
    attn: eqx.nn.MultiheadAttention
    ln2: eqx.nn.LayerNorm
    fc: eqx.nn.Linear
    proj: eqx.nn.Linear

    def __init__(self, width: int, heads: int, key):
        k1, k2, k3 = jax.random.split(key, 3)
        self.ln1 = eqx.nn.LayerNorm(width)
        self.attn = eqx.nn.MultiheadAttention(heads, width, key=k1)
        self.ln2 = eqx.nn.LayerNorm(width)
        self.fc = eqx.nn.Linear(width, 4 * width, key=k2)
        self.proj = eqx.nn.Linear(4 * width, width, key=k3)

    def __call__(self, x, mask):
        h = jax.vmap(self.ln1)(x)
        x = x + self.attn(h, h, h, mask=mask)
        h = jax.vmap(self.ln2)(x)
        return x + jax.vmap(lambda v: self.proj(jax.nn.gelu(self.fc(v))))(h)


class Transformer(eqx.Module):
    """`model(tokens)` → logits (T, vocab) for one sequence of T ≤ context tokens."""

    embed: eqx.nn.Embedding
    pos: jax.Array
    blocks: tuple
    ln_f: eqx.nn.LayerNorm
    head: eqx.nn.Linear

    def __init__(self, config: ModelConfig, key):
        d = config.width
        keys = jax.random.split(key, config.layers + 3)
        self.embed = eqx.nn.Embedding(config.vocab_size, d, key=keys[0])
        self.pos = 0.02 * jax.random.normal(keys[1], (config.context, d))
        self.blocks = tuple(Block(d, config.heads, k) for k in keys[3:])
        self.ln_f = eqx.nn.LayerNorm(d)
        self.head = eqx.nn.Linear(d, config.vocab_size, use_bias=False, key=keys[2])

    def __call__(self, tokens):
        t = tokens.shape[0]
        x = jax.vmap(self.embed)(tokens) + self.pos[:t]
        mask = jnp.tril(jnp.ones((t, t), dtype=bool))
        for block in self.blocks:
            x = block(x, mask)
        return jax.vmap(lambda v: self.head(self.ln_f(v)))(x)


def init_model(config: ModelConfig, seed: int) -> Transformer:
    """The model's initial parameters from PRNGKey(seed), cast to float32 (also when JAX's float64 is on).

    Built eagerly (op by op; about a second on 2 loaded cores): a jitted construction rounds differently (≤ 1e-8),
    which would change the committed runs' curves."""
    return as_float32(Transformer(config, jax.random.PRNGKey(seed)))


def as_float32(model):
    """The model with its floating-point arrays cast to float32 (its other leaves as they are)."""
    return jax.tree_util.tree_map(lambda a: a.astype(jnp.float32) if eqx.is_inexact_array(a) else a, model)


def sequence_loss(model, inputs, targets):
    """Mean next-character cross-entropy (nats) over a batch: inputs, targets (B, T) int."""
    logits = jax.vmap(model)(inputs)
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, targets[..., None], axis=-1))


def count_parameters(model) -> int:
    return int(sum(a.size for a in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))))
