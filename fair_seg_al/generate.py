"""Generate a synthetic biased cohort (or reuse it from the cache).

    python -m fair_seg_al.generate out_dir=DIR n_subjects=N bias=strong seed=0
    python -m fair_seg_al.generate cohort=paper bias=weak          # paper scale, cached

From Python::

    from fair_seg_al.generate import generate_from_config
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from fair_seg_al.cohort import CohortSpec, generate_cohort
from fair_seg_al.config import CONF_DIR, ConfigError
from fair_seg_al.utils.locks import LockTimeoutError

log = logging.getLogger(__name__)


def generate_from_config(cfg: DictConfig) -> Path:
    """Validate ``cfg`` (composed from ``conf/generate.yaml``) and generate the cohort."""
    spec = CohortSpec.from_config(cfg.cohort, cfg.bias)
    out = generate_cohort(
        spec,
        out_dir=cfg.get("out_dir"),
        cache_dir=cfg.paths.cohort_cache_dir,
        num_workers=cfg.get("num_workers", "auto"),
        overwrite=bool(cfg.get("overwrite", False)),
        lock=cfg.paths.lock,
        lock_timeout_s=cfg.paths.lock_timeout_s,
    )
    if cfg.get("figure", False) and not (out / "cohort.png").exists():
        from fair_seg_al.viz import plot_group_examples

        plot_group_examples(out, out / "cohort.png")
    return out


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="generate")
def main(cfg: DictConfig) -> None:
    try:
        out = generate_from_config(cfg)
    except (ConfigError, FileExistsError, LockTimeoutError) as err:
        log.error("%s", err)  # into the run's log file
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(out)


if __name__ == "__main__":
    main()
