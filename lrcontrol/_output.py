"""Output folders and files of the command line: checked before any work, written all at once, never stale.

Contract: a command checks its `--out` folder before it computes anything (`check_folder`), then writes every file
of its result at once (`write_all`): the files are staged in a hidden folder inside `out` and moved into place
together. The names it wrote are kept in `out/.lrcontrol-files`; the next command writing into the same folder
removes the files of that list it does not write itself, so a folder never mixes two runs — but for the files the
command read (its law, curve or schedule given from that folder). Files that lrcontrol did not write are never
touched.
"""

import json
import math
import os
import tempfile
from pathlib import Path

import jax
import numpy as np

from ._errors import InputError

MANIFEST = ".lrcontrol-files"


def check_folder(path: str | os.PathLike, option: str = "--out") -> Path:
    """`path` as a Path if it is, or can become, a writable folder; else `InputError` naming `option`.

    Leaves nothing behind: a folder that does not exist yet is checked by making and removing a folder in its
    nearest existing parent."""
    if not str(path).strip():  # Path("") is the current folder: an empty --out is a mistake, not "here"
        raise InputError(f"{option} must name a folder, got an empty string.")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"{option} '{out}' is an existing file; give a folder.")
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{option} '{out}' cannot be created: '{probe}' is a file, not a folder.")
    try:  # the real test: can a folder be made there? (made and removed at once)
        os.rmdir(tempfile.mkdtemp(dir=probe, prefix=".lrcontrol-probe-"))
    except OSError as err:
        raise InputError(f"{option} '{out}' cannot be written: {err.strerror or err} in '{probe}'.") from None
    return out


def write_all(out: Path, files: dict[str, bytes | str], keep=()) -> list[Path]:
    """Write every file or none (see the module docstring); returns the written paths. `keep`: paths (the
    command's inputs) that are not removed as leftovers of an earlier command; they stay listed in the manifest,
    for the next command to remove."""
    kept = {os.path.realpath(k) for k in keep}
    for name in files:  # checked before anything is written: an input is never overwritten
        if os.path.realpath(out / name) in kept:
            raise InputError(f"--out '{out}' would overwrite this command's input '{out / name}' (it writes {name} "
                             f"there); give another --out.")
    out.mkdir(parents=True, exist_ok=True)
    stale = {n for n in _manifest(out) - set(files) if "/" not in n and n != MANIFEST}
    still = {n for n in stale if os.path.realpath(out / n) in kept}
    with tempfile.TemporaryDirectory(dir=out, prefix=".lrcontrol-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data if isinstance(data, bytes) else data.encode())
        (Path(tmp) / MANIFEST).write_text(json.dumps(sorted(set(files) | still)))
        for name in files:
            os.replace(Path(tmp) / name, out / name)
        os.replace(Path(tmp) / MANIFEST, out / MANIFEST)
    for name in stale - still:
        (out / name).unlink(missing_ok=True)
    return [out / name for name in files]


INPUT_OPTIONS = ("law", "curve", "schedule", "grad_norms")  # the command-line options that name files a command reads


def write_outputs(args, out: Path, files: dict[str, bytes | str]) -> list[Path]:
    """A command's `write_all`: nothing after a swallowed Ctrl-C, and the files it read (`INPUT_OPTIONS` of its parsed
    `args`) kept even where --out is their folder."""
    from . import _interrupt

    _interrupt.check()  # a swallowed Ctrl-C: write nothing
    given = [getattr(args, name, None) for name in INPUT_OPTIONS]
    return write_all(out, files, keep=[q for v in given if v for q in (v if isinstance(v, list) else [v])])


def _manifest(out: Path) -> set[str]:
    try:
        names = json.loads((out / MANIFEST).read_text())
        return {n for n in names if isinstance(n, str)}
    except (OSError, ValueError, TypeError):
        return set()


def finite_json(data, **kwargs) -> str:
    """JSON text in which every non-finite number (NaN, ±inf, in any nesting, numpy or Python) is null."""
    return json.dumps(_clean(data), allow_nan=False, **kwargs)


def _clean(x):
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        if x and isinstance(x[0], float):  # a long list of floats (a schedule, a loss curve): checked at once
            try:
                finite = np.isfinite(np.asarray(x, dtype=float))
            except (TypeError, ValueError):
                finite = None
            if finite is not None:
                return list(x) if finite.all() else [v if ok else None for v, ok in zip(x, finite.tolist())]
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist() if x.ndim else x.item())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, jax.Array):
        return _clean(np.asarray(x))
    return x
