"""Atomic file writes: a reader never sees a half-written output."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xbehavior.errors import DataError


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success move it into place in one step."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _as_made(0o666))  # mkstemp creates 0600
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _as_made(mode: int) -> int:
    """``mode`` less the process umask: the permissions a plain open() or mkdir() gives."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def write_text(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def strict_json(value: object) -> object:
    """``value`` made valid strict JSON: NaN / ±inf -> null (RFC 8259 has no NaN, and strict
    parsers reject it), numpy scalars -> Python numbers, timestamps and other objects -> str.
    Dicts, lists and tuples are converted recursively."""
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()  # numpy scalar
        except (ValueError, TypeError):
            return str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if str(value) in ("<NA>", "NaT"):  # pandas missing markers
        return None
    return str(value)


def write_json(target: Path, payload: object, indent: int = 2) -> None:
    """Write ``payload`` as strict JSON (see :func:`strict_json`) to ``target`` atomically."""
    write_text(target, json.dumps(strict_json(payload), indent=indent, allow_nan=False))


def write_with(target: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and move the result to ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)


#: written into every finished output folder: an earlier output may be replaced by a new run
MARKER = ".xbehavior-output"
#: an output folder written before the marker existed holds one of these pairs
_EARLIER_OUTPUT = (("report.html", "metrics.json"), ("report.html", "analytics.json"),
                   ("segments.html", "segment_metrics.csv"))


@contextmanager
def output_folder(folder: Path, option: str = "--out",
                  inputs: tuple[object, ...] = ()) -> Iterator[Path]:
    """Yield an empty staging folder beside ``folder`` for a job's outputs; when the job
    succeeds, the staging folder becomes ``folder`` whole, so that a run never mixes its
    files with an earlier run's and a failed run leaves nothing behind.

    ``folder`` may be new (missing parents are created, and removed again if the job
    fails), empty, or an earlier xbehavior output (it is replaced). Refused in one line
    naming ``option``: an existing file, a folder holding other files (nothing of the user's
    is ever deleted or mixed in), and a folder holding one of ``inputs`` (the job would
    replace the file it reads; entries that are not paths, such as a mapping given as a
    dict, are passed over).
    """
    folder = Path(folder).absolute()
    _check_output_folder(folder, option, inputs)
    top = folder  # the outermost folder this call creates
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial",
                                    dir=folder.parent))
    os.chmod(staging, _as_made(0o777))  # mkdtemp makes 0700
    try:
        yield staging
        (staging / MARKER).write_text("written by xbehavior; a new run may replace this "
                                      "folder\n", encoding="utf-8")
        _swap_into(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if top != folder and top.exists() and not any(top.rglob("*")):
            shutil.rmtree(top, ignore_errors=True)
        raise


def _check_output_folder(folder: Path, option: str, inputs: tuple[object, ...]) -> None:
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{option} {folder} is an existing file, not a folder; give a folder "
                        "path (new or existing)")
    for given in inputs:
        if isinstance(given, (str, Path)) and Path(given).absolute().is_relative_to(folder):
            raise DataError(f"{option} {folder} holds the input {given}, which the outputs "
                            "would replace; give another output folder")
    if folder.is_dir() and any(folder.iterdir()) and not _is_earlier_output(folder):
        raise DataError(f"{option} {folder} already holds files that are not an xbehavior "
                        "output; give a new or empty folder (an earlier output is replaced "
                        "whole, other files are never overwritten)")


def _is_earlier_output(folder: Path) -> bool:
    return (folder / MARKER).is_file() or any(
        all((folder / name).is_file() for name in pair) for pair in _EARLIER_OUTPUT)


def _swap_into(staging: Path, folder: Path) -> None:
    """Make ``staging`` the folder ``folder``: two renames, then the old copy is deleted."""
    if not folder.exists():
        os.rename(staging, folder)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
    os.rename(folder, old / "previous")
    os.rename(staging, folder)
    shutil.rmtree(old, ignore_errors=True)
