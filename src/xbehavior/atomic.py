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
        # mkstemp creates 0600; give the output the permissions a normal file would get
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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


@contextmanager
def output_folder(folder: Path, option: str = "--out") -> Iterator[Path]:
    """Create ``folder`` (and missing parents) for a job's outputs; yield it.

    Refuses a path that is an existing file (one-line DataError naming ``option``). If the job
    fails before writing any file, the folders this call created are removed again, so a failed
    run leaves nothing behind; a folder that existed before is never removed.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{option} {folder} is an existing file, not a folder; give a folder "
                        "path (new or existing)")
    top = folder  # the outermost folder this call creates
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        if created and not any(p.is_file() or p.is_symlink() for p in top.rglob("*")):
            shutil.rmtree(top, ignore_errors=True)
        raise
