"""The AL state saved after every round (atomically), and the run's plain-file outputs."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import torch

from fair_seg_al.config import ConfigError
from fair_seg_al.utils.io import atomic_path, atomic_write_text

STATE_FILE = "al_state.pt"


def save_state(run_dir: str | os.PathLike, state: dict) -> Path:
    """Write ``al_state.pt`` atomically: a crash leaves the previous round's state intact."""
    path = Path(run_dir) / STATE_FILE
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_state(run_dir: str | os.PathLike) -> dict | None:
    path = Path(run_dir) / STATE_FILE
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


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
