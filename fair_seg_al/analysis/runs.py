"""Read AL run folders: the one reader every analysis goes through.

A run folder is what ``fair_seg_al.main`` writes, or its archived copy
(:mod:`fair_seg_al.analysis.archive`): ``.hydra/config.yaml`` (the resolved config) and, once a
round is done, ``rounds.csv``; beside them ``selections.csv``, ``estimates.csv``, ``split.json``,
``provenance.json`` (the code that made it; absent in runs from before 2026-12-06) and the
per-image ``test_dice.csv`` (gzipped in an archive). One rule says whether a run is
finished (:func:`unfinished`), and the reports, the replication verdicts, the estimator
benchmark and the uncertainty comparison all read runs through :func:`find_runs`; the
benchmarks read the rounds of the runs they make through :func:`finished_rounds`.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from omegaconf import DictConfig, OmegaConf

from fair_seg_al.metrics import RENAMED_COLUMNS
from fair_seg_al.run_identity import data_label, experiment_hash, strategy_label
from fair_seg_al.utils.io import stable_hash
from fair_seg_al.utils.provenance import UNRECORDED, read_provenance, run_code_id

STRATEGY_ORDER = [
    "random",
    "stratified_random",
    "composition_control",
    "entropy",
    "masked_entropy",
    "weighted_entropy",
    "weighted_entropy_floor",
]
KEYS = ["strategy", "bias", "init", "seed"]


class ReportError(ValueError):
    """The given folders cannot be reported on (no runs, or runs that do not compare)."""


@dataclass
class Run:
    path: Path
    strategy: str  #: the label in tables and figures (:func:`run_label`)
    bias: str  #: the data label: the bias preset, or the name of a user's cohort folder
    init: str
    seed: int
    rounds_planned: int
    rounds: pd.DataFrame | None
    selections: pd.DataFrame | None
    test_key: str | None
    failure: str | None  #: why the run is not finished (:func:`unfinished`), None if it is
    experiment: str = ""  #: hash of everything that changes results (refuses duplicates)
    strategy_config: str = ""  #: hash of the strategy config (keeps variants apart)
    config: DictConfig | None = None  #: the resolved config
    #: the code that made the run (:func:`~fair_seg_al.utils.provenance.run_code_id`); runs from
    #: before provenance was recorded are all :data:`~fair_seg_al.utils.provenance.UNRECORDED`
    code_id: str = UNRECORDED
    provenance: dict | None = None  #: ``provenance.json``, None where absent

    def table(self, name: str) -> pd.DataFrame | None:
        """One of the run's CSV files (``name`` or, archived, ``name.gz``), or None if absent."""
        for candidate in (name, f"{name}.gz"):
            if (self.path / candidate).is_file():
                return pd.read_csv(self.path / candidate, dtype={"subject_id": str, "group": str})
        return None


def read_rounds(path: Path) -> pd.DataFrame | None:
    """A run folder's ``rounds.csv`` (None if absent), its columns under today's names: runs
    written before every metric took one pattern had ``disparity``, ``disparity_sum`` and ``ser``
    for Dice (:data:`fair_seg_al.metrics.RENAMED_COLUMNS`)."""
    if not (Path(path) / "rounds.csv").is_file():
        return None
    return pd.read_csv(Path(path) / "rounds.csv").rename(columns=RENAMED_COLUMNS)


def read_summary(path: str | os.PathLike) -> pd.DataFrame:
    """A report's ``summary.csv`` (every run x round; :mod:`fair_seg_al.analysis.report`), its
    columns under today's names, as :func:`read_rounds` reads a run's."""
    return pd.read_csv(path).rename(columns=RENAMED_COLUMNS)


def unfinished(path: Path, planned: int, rounds: pd.DataFrame | None) -> str | None:
    """The one completeness rule: None if the run completed every planned round without failing;
    else why not (a ``FAILED`` marker's last line, no ``rounds.csv``, or the rounds it reached)."""
    if (path / "FAILED").is_file():
        return "failed: " + (path / "FAILED").read_text().strip().splitlines()[-1][:300]
    if rounds is None:
        return "no rounds.csv (did not finish round 0)"
    last = int(rounds["round"].max())
    return None if last >= planned else f"unfinished: round {last} of {planned}"


def read_run(path: str | os.PathLike) -> Run:
    """Read one run folder (live or archived)."""
    path = Path(path)
    cfg = OmegaConf.create(_read_yaml(path / ".hydra" / "config.yaml"))
    rounds = read_rounds(path)
    selections = pd.read_csv(path / "selections.csv") if (path / "selections.csv").is_file() else None
    test_key = None
    if (path / "split.json").is_file():
        split = json.loads((path / "split.json").read_text())
        test_key = f"{split.get('cohort')}:{','.join(sorted(split['test']))}"
    planned = int(OmegaConf.select(cfg, "al.rounds", default=0))
    # archived runs from before provenance have none; a sweep's chunks.log names the code of each
    # chunk of seeds, but mapping runs to chunks is guesswork (the archives span several commits)
    provenance = read_provenance(path)
    return Run(
        path,
        run_label(cfg),
        data_label(cfg),
        str(cfg.init.name),
        int(cfg.seed),
        planned,
        rounds,
        selections,
        test_key,
        unfinished(path, planned, rounds),
        experiment_hash(cfg),
        stable_hash(OmegaConf.to_container(cfg.strategy, resolve=False)),
        cfg,
        run_code_id(provenance),
        provenance,
    )


def finished_rounds(path: str | os.PathLike) -> pd.DataFrame:
    """The ``rounds.csv`` of one finished run folder, for a caller that needs only its rounds (a
    benchmark timing the run it has just made). Reads no more of the config than the planned
    rounds, so runs of older code, whose configs :func:`read_run` may not know, read too.

    Raises:
        ReportError: the run is not finished (:func:`unfinished` says why).
    """
    path = Path(path)
    cfg = OmegaConf.create(_read_yaml(path / ".hydra" / "config.yaml"))
    rounds = read_rounds(path)
    failure = unfinished(path, int(OmegaConf.select(cfg, "al.rounds", default=0)), rounds)
    if failure is not None:
        raise ReportError(f"{path}: {failure}")
    return rounds


def run_label(cfg) -> str:
    """The strategy's label in tables and figures: its name plus any non-default estimator and
    composition (:func:`~fair_seg_al.run_identity.strategy_label`); runs that select with the test
    set are labelled as the oracle control they are."""
    label = strategy_label(cfg.strategy)
    # Archived runs from before Weighted Entropy's presets were renamed (issue #16): the floor /
    # shrinkage variant ran as `weighted_entropy`, the paper's bare form as `weighted_entropy_bare`.
    name = str(cfg.strategy.get("name"))
    if name == "weighted_entropy" and float(OmegaConf.select(cfg, "strategy.weight_floor", default=0.0) or 0) > 0:
        label = label.replace("weighted_entropy", "weighted_entropy_floor", 1)
    elif name == "weighted_entropy_bare":
        label = label.replace("weighted_entropy_bare", "weighted_entropy", 1)
    if OmegaConf.select(cfg, "strategy.estimator.name") == "oracle":
        label += " (oracle control)"
    return label


@functools.cache
def _fast_loader() -> type:
    """OmegaConf's YAML rules (its float syntax, no timestamps) on libyaml's parser where present:
    OmegaConf.load parses in pure Python, which dominated reading a sweep of hundreds of runs."""
    from omegaconf._utils import get_yaml_loader

    rules = get_yaml_loader()
    loader = type("FastOmegaConfLoader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {})
    loader.yaml_implicit_resolvers = {k: list(v) for k, v in rules.yaml_implicit_resolvers.items()}
    loader.yaml_constructors = dict(rules.yaml_constructors)
    return loader


def _read_yaml(path: Path):
    """A YAML file's data as OmegaConf.load reads it (interpolations stay strings)."""
    return yaml.load(path.read_text(), Loader=_fast_loader())


def _yaml_keys(path: Path) -> set:
    data = _read_yaml(path)
    return set(data) if isinstance(data, dict) else set()


def run_folders(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Every AL run folder at or below ``paths`` (a folder whose ``.hydra/config.yaml`` has a strategy).

    Raises:
        ReportError: a path that does not exist.
    """
    found: dict[Path, None] = {}
    for root in map(Path, paths):
        if not root.exists():
            raise ReportError(f"{root} does not exist")
        for cfg in [root / ".hydra" / "config.yaml", *root.rglob(".hydra/config.yaml")]:
            run_dir = cfg.parent.parent.resolve()
            if cfg.is_file() and run_dir not in found and "strategy" in _yaml_keys(cfg):
                found[run_dir] = None
    return list(found)


def find_runs(paths: Sequence[str | os.PathLike]) -> list[Run]:
    """Every run at or below ``paths``, sorted by data, start, strategy and seed.

    Raises:
        ReportError: no runs, or two folders of the same experiment.
    """
    runs = [read_run(p) for p in run_folders(paths)]
    if not runs:
        raise ReportError(f"no AL runs under {', '.join(map(str, paths))} (no .hydra/config.yaml of fair_seg_al.main)")
    runs.sort(key=lambda r: (r.bias, r.init, strategy_order(r.strategy), r.seed, str(r.path)))
    refuse_duplicates(runs)
    keep_variants_apart(runs)
    return runs


def refuse_duplicates(runs: Sequence[Run]) -> None:
    """Two runs of the same experiment (config, bias, init, seed) would be pooled as two seeds.

    Raises:
        ReportError: naming both folders.
    """
    seen: dict[str, Run] = {}
    for r in runs:
        if r.experiment in seen:
            raise ReportError(
                f"{seen[r.experiment].path} and {r.path} are the same experiment ({r.strategy}, {r.bias}, "
                f"{r.init}, seed {r.seed}, same config): report one of them"
            )
        seen[r.experiment] = r


def by_code(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """The runs of each code id, in the order first seen."""
    codes: dict[str, list[Run]] = {}
    for r in runs:
        codes.setdefault(r.code_id, []).append(r)
    return codes


def check_same_code(runs: Sequence[Run], allow_mixed: bool = False) -> dict[str, list[Run]]:
    """Runs pooled in one comparison must come from one code: a difference between strategies
    could otherwise be a difference between code versions. Runs without provenance are one
    class (:data:`~fair_seg_al.utils.provenance.UNRECORDED`); a run resumed by other code is a
    class of its own.

    Returns:
        The runs of each code id (:func:`by_code`).

    Raises:
        ReportError: runs of more than one code id and not ``allow_mixed``, naming the runs of each.
    """
    codes = by_code(runs)
    if len(codes) > 1 and not allow_mixed:

        def named(members: list[Run]) -> str:
            names = ", ".join(r.path.name for r in members[:3])
            return names + (f" and {len(members) - 3} more" if len(members) > 3 else "")

        classes = "; ".join(f"code {code}: {len(m)} run(s) ({named(m)})" for code, m in codes.items())
        raise ReportError(
            f"runs of {len(codes)} different code versions would be pooled: {classes}. Report them "
            "separately, or pass --allow-mixed-code to pool them (the report then says so)."
        )
    return codes


def keep_variants_apart(runs: Sequence[Run]) -> None:
    """Runs that share a label but not a strategy config get the config's hash in their label,
    so two variants that share a name are never pooled."""
    configs: dict[str, set[str]] = {}
    for r in runs:
        configs.setdefault(r.strategy, set()).add(r.strategy_config)
    for r in runs:
        if len(configs[r.strategy]) > 1:
            r.strategy = f"{r.strategy} [{r.strategy_config[:6]}]"


def strategy_order(strategy: str) -> int:
    """Position of a strategy label in tables (the paper's order first)."""
    return STRATEGY_ORDER.index(strategy) if strategy in STRATEGY_ORDER else len(STRATEGY_ORDER)


def summary_table(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run x round: the run's keys, its folder and its ``rounds.csv`` row."""
    frames = []
    for r in runs:
        if r.rounds is None:
            continue
        df = r.rounds.copy()
        for k in KEYS:
            df.insert(KEYS.index(k), k, getattr(r, k))
        df.insert(4, "run_dir", str(r.path))
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*KEYS, "run_dir"])


def final_test_values(run: Run) -> pd.DataFrame | None:
    """Per-image test values of a run's last round (``test_dice.csv``, or gzipped in an archive)."""
    df = run.table("test_dice.csv")
    if df is None:
        return None
    return df[df["round"] == df["round"].max()].sort_values("subject_id").reset_index(drop=True)
