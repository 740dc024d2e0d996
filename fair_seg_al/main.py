"""The fair active-learning experiment (Hydra entry point).

    python -m fair_seg_al.main                                   # defaults: conf/main.yaml
    python -m fair_seg_al.main -m strategy=weighted_entropy,entropy bias=strong,weak
    python -m fair_seg_al.main resume=true                       # continue the latest run of this config

Outputs in the run folder: ``rounds.csv``, ``selections.csv``, ``split.json``,
``al_state.pt`` (resume), ``.hydra/`` (the resolved config) and ``wandb/`` (offline run).
"""

from __future__ import annotations

import logging
import sys
import traceback
import warnings
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from fair_seg_al.al.state import STATE_FILE, parse_resume
from fair_seg_al.config import CONF_DIR, ConfigError
from fair_seg_al.data.cohort_folder import CohortFormatError
from fair_seg_al.run_identity import register_resolvers
from fair_seg_al.utils.io import atomic_write_text
from fair_seg_al.utils.locks import LockTimeoutError

log = logging.getLogger(__name__)


def _run_dir(base: str, now: str, resume) -> str:
    """``hydra.run.dir``: a new timestamped folder, or with ``resume`` the folder to continue.

    ``resume=true`` picks the newest folder under ``base`` holding an AL state (a new one if
    none); ``resume=PATH`` uses that folder.
    """
    resume = parse_resume(resume)
    if resume is False:
        return f"{base}/{now}"
    if resume is True:
        runs = sorted(p for p in Path(base).glob("*") if (p / STATE_FILE).is_file())
        return str(runs[-1]) if runs else f"{base}/{now}"
    return str(resume)


def _quiet_warnings() -> None:
    """Run in every job's process (joblib workers do not import this module's top level)."""
    # Lightning's own deprecation notice about torch's pytree, printed every round: not ours to fix.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # With trainer.deterministic=warn, torch repeats this for every step of every round: say it once.
    warnings.filterwarnings("once", message=r".*does not have a deterministic implementation.*")
    # Lightning sees srun on a SLURM machine and suggests it; jobs started by our launchers are right as they are.
    warnings.filterwarnings("ignore", message=r".*The `srun` command is available on your system.*")


_quiet_warnings()

register_resolvers()  # the conf/ resolvers, before Hydra composes
if not OmegaConf.has_resolver("fsa_run_dir"):
    OmegaConf.register_new_resolver("fsa_run_dir", _run_dir, use_cache=True)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="main")
def main(cfg: DictConfig) -> float | None:
    """Run one experiment; returns its final ES-Dice (for Hydra sweepers)."""
    from fair_seg_al.experiment import RunExistsError, run

    _quiet_warnings()
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    run_dir = Path(hc.runtime.output_dir)
    for name in (
        "pytorch_lightning.utilities.rank_zero",
        "lightning.pytorch.utilities.rank_zero",
        "lightning_fabric.utilities.rank_zero",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)  # per-round Trainer banners
    try:
        rows = run(cfg, run_dir, multirun=multirun, launcher=hc.launcher)  # threads: run() shares the cores out
    except (ConfigError, CohortFormatError, FileExistsError, LockTimeoutError) as err:
        log.error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        if multirun and isinstance(err, RunExistsError):
            return None  # a finished job of a re-launched sweep: not a failure, nothing to mark
        if multirun:  # one bad job must not stop the sweep: leave a visible marker
            atomic_write_text(run_dir / "FAILED", f"{type(err).__name__}: {err}\n")
            return None
        raise SystemExit(2) from None
    except Exception:
        if not multirun:
            raise
        text = traceback.format_exc()
        log.error("job failed:\n%s", text)
        atomic_write_text(run_dir / "FAILED", text)
        return None
    (run_dir / "FAILED").unlink(missing_ok=True)  # an earlier attempt failed; this one did not
    print(f"{run_dir}")
    return rows[-1]["es_dice"] if rows else None


#: Command-line keys that moved, and their new form: a user who learned the old key is told the
#: new one (Hydra alone would say only "Key ... is not in struct").
MOVED_OVERRIDES = {
    "data.cohort_dir": "source=folder source.cohort_dir={value}",
    "data.layout": "source={value} (with source.cohort_dir=...)",
}


def moved_overrides(argv: list[str]) -> list[str]:
    """A message for each override of ``argv`` that names a key which moved (none: ``[]``)."""
    messages = []
    for arg in argv:
        key, sep, value = arg.lstrip("+~").partition("=")
        if sep and key in MOVED_OVERRIDES:
            messages.append(f"{arg}: {key} moved; write {MOVED_OVERRIDES[key].format(value=value)}")
    return messages


def cli() -> None:
    """``python -m fair_seg_al.main`` and ``fair-seg-al``: refuse moved keys by name, then run Hydra."""
    messages = moved_overrides(sys.argv[1:])
    if messages:
        print("error: " + "\n       ".join(messages), file=sys.stderr)
        raise SystemExit(2)
    main()


if __name__ == "__main__":
    cli()
