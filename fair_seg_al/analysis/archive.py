"""Keep a sweep's raw per-run outputs where they can be committed, and read them back.

Run folders hold model states, W&B files and logs that do not belong in a repository. The
numbers in a study's docs rest on a few small files per run; ``archive_sweep`` copies those of
every *finished* run into a folder (one sub-folder per run, named as in the sweep) that the
report reads exactly as it reads run folders::

    python -m fair_seg_al.analysis.archive logs/al/multiruns/sweep_powered docs/replication/runs/sweep_powered
    python -m fair_seg_al.analysis.report docs/replication/runs/sweep_powered --out docs/replication/powered

``split.json`` names its cohort folder by key, never by this machine's path; ``provenance.json``
(the code that made the run) names no path.
Per-image test Dice (``test_dice.csv``, one row per test image and round) is stored gzipped;
pandas reads ``test_dice.csv.gz`` directly. Copies are atomic and a run already archived
with the same ``rounds.csv`` is left alone, so archiving after every chunk of a sweep is safe.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from fair_seg_al.analysis.runs import unfinished
from fair_seg_al.utils.io import atomic_path
from fair_seg_al.utils.provenance import PROVENANCE_FILE

#: copied as they are (``.hydra/config.yaml`` is the resolved config the report reads)
FILES = (
    "rounds.csv",
    "selections.csv",
    "estimates.csv",
    "split.json",
    PROVENANCE_FILE,
    ".hydra/config.yaml",
    ".hydra/overrides.yaml",
)
#: copied gzipped
GZIPPED = ("test_dice.csv",)


@dataclass
class ArchiveResult:
    copied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  #: run folder -> why (failed, unfinished)


def finished(run: Path) -> str | None:
    """None if ``run`` completed every planned round without failing; else why not
    (the one completeness rule, :func:`fair_seg_al.analysis.runs.unfinished`)."""
    planned = int(OmegaConf.select(OmegaConf.load(run / ".hydra" / "config.yaml"), "al.rounds", default=0))
    rounds = pd.read_csv(run / "rounds.csv") if (run / "rounds.csv").is_file() else None
    return unfinished(run, planned, rounds)


def portable_split(text: str) -> str:
    """A run's ``split.json`` as archived: the cohort folder named by its key (the folder's
    name), not by this machine's absolute path; everything else as it is."""
    split = json.loads(text)
    if split.get("cohort_dir"):
        split["cohort_dir"] = Path(split["cohort_dir"]).name
    return json.dumps(split, indent=2) + "\n"


def _copy(src: Path, dest: Path, gzipped: bool = False) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        if src.name == "split.json":
            Path(tmp).write_text(portable_split(src.read_text()))
        elif gzipped:  # mtime=0: the same content gives the same bytes, so git sees no change
            with open(src, "rb") as fin, open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fout:
                shutil.copyfileobj(fin, fout)
        else:
            shutil.copyfile(src, tmp)


def archive_sweep(
    sweep: str | os.PathLike, dest: str | os.PathLike, folder_name: Callable[[Path], str] | None = None
) -> ArchiveResult:
    """Copy the raw files of every finished run under ``sweep`` into ``dest/<folder>/``: the run
    folder's own name, or ``folder_name(run folder)``."""
    sweep, dest = Path(sweep), Path(dest)
    if not sweep.is_dir():
        raise FileNotFoundError(f"{sweep}: no such sweep folder")
    result = ArchiveResult()
    for run in sorted(p.parent.parent for p in sweep.glob("*/.hydra/config.yaml")):
        why = finished(run)
        if why is not None:
            result.skipped[run.name] = why
            continue
        out = dest / (folder_name(run) if folder_name else run.name)
        if (out / "rounds.csv").is_file() and (out / "rounds.csv").read_bytes() == (run / "rounds.csv").read_bytes():
            result.unchanged.append(run.name)
            continue
        # rounds.csv last: a folder interrupted mid-copy is copied again next time
        for name in [f for f in FILES if f != "rounds.csv"] + ["rounds.csv"]:
            if (run / name).is_file():
                _copy(run / name, out / name)
        for name in GZIPPED:
            if (run / name).is_file():
                _copy(run / name, out / f"{name}.gz", gzipped=True)
        result.copied.append(run.name)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", help="a multirun folder, e.g. logs/al/multiruns/sweep_powered")
    parser.add_argument("dest", help="where the raw per-run files go, e.g. docs/replication/runs/sweep_powered")
    args = parser.parse_args(argv)
    try:
        result = archive_sweep(args.sweep, args.dest)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    for name, why in result.skipped.items():
        print(f"not archived: {name} ({why})", file=sys.stderr)
    print(
        f"{len(result.copied)} runs archived, {len(result.unchanged)} unchanged, {len(result.skipped)} not finished -> {args.dest}"
    )


if __name__ == "__main__":
    main()
