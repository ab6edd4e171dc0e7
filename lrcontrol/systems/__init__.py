"""Learning systems: each module owns its dynamics and its known closed forms.

Every public module of this package (a name without a leading underscore) is imported, and every concrete
`AbstractSystem` subclass defined in it is exported here (and so listed by `lrcontrol list`, built by the CLI's
registry, fitted by `lrcontrol fit` if it is a loss-curve law, and checked by tests/test_conformance.py): a new
system or law is one new module, with no other edit.
"""

import importlib as _importlib
import inspect as _inspect
import pkgutil as _pkgutil

from ._base import AbstractContinuousSystem as AbstractContinuousSystem
from ._base import AbstractDiscreteSystem as AbstractDiscreteSystem
from ._base import AbstractSystem as AbstractSystem
from ._law import AbstractLossCurveLaw as AbstractLossCurveLaw

__all__ = ["AbstractSystem", "AbstractContinuousSystem", "AbstractDiscreteSystem", "AbstractLossCurveLaw"]


def _discover() -> None:
    for info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = _importlib.import_module(f"{__name__}.{info.name}")
        for export, obj in vars(module).items():
            if (isinstance(obj, type) and issubclass(obj, AbstractSystem) and obj.__module__ == module.__name__
                    and not export.startswith("_") and not _inspect.isabstract(obj)):
                globals()[export] = obj
                __all__.append(export)


_discover()
