"""Bounded caches of compiled executables, and one call that empties them all.

Every compiled XLA executable keeps its machine code mapped in the process (on CPU, several memory maps each).
An unbounded cache in a long-lived process — a notebook sweeping over shapes, a test worker — would grow until
the kernel's map limit (`vm.max_map_count`, 65530 by default) makes the next compilation abort the process.
Least recently used entries go first.
"""

from collections import OrderedDict

# Enough for every program a CLI command or a notebook section uses at once (a solve compiles one to four).
MAX_ENTRIES = 64

_CLEARS: list = []  # the `clear` of every cache of compiled programs (`clear_compiled`)


def register(clear) -> None:
    """Have `clear_compiled` call `clear()`: for a cache of compiled programs kept elsewhere (`lrc.fit`'s)."""
    _CLEARS.append(clear)


class CompiledCache(OrderedDict):
    """A dict of at most `max_entries` items that forgets the least recently used (`get` and `[]` count as use)."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        super().__init__()
        self.max_entries = max_entries
        register(self.clear)

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.max_entries:
            self.popitem(last=False)


def clear_compiled() -> None:
    """Drop every compiled program lrcontrol holds (JAX's own caches: `jax.clear_caches()`)."""
    for clear in _CLEARS:
        clear()
