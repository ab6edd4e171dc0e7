"""The key under which a compiled program is cached: a pytree's structure, its arrays' shapes and dtypes, and its
static (non-array) leaves — what jit would retrace on."""

import jax.tree_util as jtu


def structure(dyn, static) -> tuple:
    """A hashable key for (the array part, the static part) of a partitioned pytree (`eqx.partition`)."""
    leaves, treedef = jtu.tree_flatten(dyn)
    static_leaves, static_def = jtu.tree_flatten(static)
    return (treedef, tuple((x.shape, str(x.dtype)) for x in leaves), static_def, tuple(map(_token, static_leaves)))


def _token(x):
    # A comparable stand-in for a non-array leaf (a Python number, string or function); unhashable ones by identity.
    try:
        hash(x)
        return x
    except TypeError:
        return id(x)
