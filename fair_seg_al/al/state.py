"""The AL state saved after every round (atomically), and the run's plain-file outputs."""

from __future__ import annotations

import io
import logging
import os
import pickle
import shutil
from pathlib import Path

import pandas as pd
import torch

from fair_seg_al.config import ConfigError
from fair_seg_al.utils.io import atomic_path, atomic_write_text

STATE_FILE = "al_state.pt"
PREVIOUS_FILE = "al_state.prev.pt"  #: the round before: the fallback when the newest state is damaged

log = logging.getLogger(__name__)


def parse_resume(value) -> bool | Path:
    """The ``resume`` key: False (a new run), True (the newest run folder of this config) or a run folder.

    >>> parse_resume("false"), parse_resume(True), parse_resume("logs/al/runs/x/2026-01-01_10-00-00")
    (False, True, PosixPath('logs/al/runs/x/2026-01-01_10-00-00'))
    """
    if value in (False, None, "false", "False"):
        return False
    if value in (True, "true", "True"):
        return True
    return Path(str(value))


class StateError(ConfigError):
    """A saved AL state that must not be loaded (not a plain-data state) or cannot be (damaged, no fallback)."""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_state(run_dir: str | os.PathLike, state: dict) -> Path:
    """Write ``al_state.pt`` atomically and durably, keeping the previous one as ``al_state.prev.pt``.

    The new state is written to a temporary file and flushed to disk; the current state is
    copied to the previous-state file; then the new one replaces the current one (an atomic
    rename) and the folder entry is flushed. A crash at any moment leaves a loadable state.
    """
    run_dir = Path(run_dir)
    path = run_dir / STATE_FILE
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
        _fsync(tmp)
        if path.is_file():
            with atomic_path(run_dir / PREVIOUS_FILE) as prev:
                shutil.copyfile(path, prev)
                _fsync(prev)
    _fsync(run_dir)  # the renames themselves
    return path


def _load(path: Path) -> dict:
    """Plain data only (tensors, numbers, strings, containers): nothing in the file can run code."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # the safe unpickler stops at the first import or call a state never needs
        asks = [line.strip() for line in str(err).splitlines() if "GLOBAL" in line]
        if asks:
            raise StateError(
                f"resume: {path} is not a plain-data AL state ({asks[0][:160]}); refusing to load it. "
                "Start a new run or restore the file."
            ) from None
        raise  # damaged: the caller falls back to the previous state


def _reason(err: Exception) -> str:
    """One line of why a load failed (torch's messages run to paragraphs of advice)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    telling = [
        line for line in lines if line.startswith("Unsupported") or "failed finding" in line or "failed reading" in line
    ]
    return f"{type(err).__name__}: {(telling or lines or [''])[0][:160]}"


def load_state(run_dir: str | os.PathLike) -> dict | None:
    """The newest loadable AL state of ``run_dir`` (None if there is none).

    A damaged (truncated, corrupt) newest state falls back to the previous round's, with a
    warning; that round is then redone. A file that is not a plain-data state is refused.

    Raises:
        StateError: a non-plain-data file, or a damaged state with no usable previous one.
    """
    run_dir = Path(run_dir)
    path = run_dir / STATE_FILE
    if not path.is_file():
        return None
    try:
        return _load(path)
    except StateError:
        raise
    except Exception as err:  # truncated zip, bad pickle stream, EOF
        prev = run_dir / PREVIOUS_FILE
        if not prev.is_file():
            raise StateError(f"resume: {path} is damaged ({_reason(err)}) and there is no {PREVIOUS_FILE}") from None
        log.warning("%s is damaged (%s); resuming from %s, the round before", path, _reason(err), prev)
        return _load(prev)


def check_same_config(state: dict, config_hash: str, run_dir: str | os.PathLike) -> None:
    """Refuse to resume a state saved by a different experiment config.

    Raises:
        ConfigError: the hashes differ.
    """
    if state["config_hash"] != config_hash:
        raise ConfigError(
            f"resume: {run_dir} holds the AL state of a different config (hash {state['config_hash']}, "
            f"this run {config_hash}); start a new run instead of resuming"
        )


def write_table(path: str | os.PathLike, rows: list[dict], columns: list[str] | None = None) -> None:
    """Write ``rows`` as CSV atomically (``columns`` first, in order, when given)."""
    df = pd.DataFrame(rows)
    if columns is not None:
        df = df.reindex(columns=columns + [c for c in df.columns if c not in columns])
    buffer = io.StringIO()
    df.to_csv(buffer, index=False)
    atomic_write_text(path, buffer.getvalue())
