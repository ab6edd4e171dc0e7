"""`lax.scan` with bounded reverse-mode memory: the cells are scanned in checkpointed chunks.

A leaf module (no lrcontrol imports): `_integrate.rollout` and the discrete systems' default `final_loss` share it.
"""

import math

import jax
import jax.numpy as jnp
import jax.tree_util as jtu


def default_chunk(n: int, checkpoint_every: int | None = None) -> int | None:
    """Cells per checkpointed chunk: `checkpoint_every` if given, else ~√n above 4096 cells, else None (no
    checkpointing)."""
    if checkpoint_every is not None:
        return checkpoint_every
    return None if n <= 4096 else int(math.ceil(math.sqrt(n)))


def scan(body, x0, xs, n: int, chunk: int | None):
    """`jax.lax.scan(body, x0, xs)` over n cells; with `chunk` < n, in checkpointed chunks of `chunk` cells:
    only chunk boundaries are stored on the forward pass, at the price of one extra forward pass during
    differentiation. Padded cells (beyond n) leave the carry unchanged and their outputs are dropped."""
    if chunk is None or chunk >= n:
        return jax.lax.scan(body, x0, xs)
    n_chunks = -(-n // chunk)
    pad = n_chunks * chunk - n
    valid = jnp.arange(n_chunks * chunk) < n
    xs = jtu.tree_map(lambda a: jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)]), xs)
    xs = jtu.tree_map(lambda a: a.reshape((n_chunks, chunk) + a.shape[1:]), (xs, valid))

    def masked_body(x, inp):
        cell_inputs, ok = inp
        x_next, ys = body(x, cell_inputs)
        return jtu.tree_map(lambda a, b: jnp.where(ok, a, b), x_next, x), ys

    @jax.checkpoint
    def chunk_body(x, inp):
        return jax.lax.scan(masked_body, x, inp)

    xT, ys = jax.lax.scan(chunk_body, x0, xs)
    return xT, jtu.tree_map(lambda a: a.reshape((n_chunks * chunk,) + a.shape[2:])[:n], ys)
