"""Adding a folder layout or a cohort source touches one module and one config: each is done
here as a user would, a module of their own (written to a folder on ``sys.path``) and a
``source/<name>.yaml`` in their own config folder on Hydra's search path, the YAML naming the
module (``module:``). Nothing else of the package learns the new names."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from fair_seg_al.config import ConfigError
from fair_seg_al.data.layouts import LAYOUTS
from fair_seg_al.data.source import SOURCES, SyntheticSource, source_from_config
from fair_seg_al.examples.own_cohort import build
from fair_seg_al.experiment import validate
from fair_seg_al.loggers import _data_tag
from fair_seg_al.run_identity import data_label, experiment_hash
from tests.conftest import CONF, SMOKE

#: the user's module: a layout (a tab-separated case list with its own column names) and a
#: source (the synthetic cohort, each group's first ``per_group`` subjects)
USER_MODULE = """
import hashlib
from dataclasses import dataclass

import pandas as pd

from fair_seg_al.data.cohort_folder import CohortFolder
from fair_seg_al.data.layouts import register_layout
from fair_seg_al.data.source import CohortSource, SyntheticSource, register_source


@register_layout("case_list")
def read_case_list(root, *, label_values=None, grouping=None, allow_outside=False, table="cases.tsv"):
    path = root / table
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    df = df.rename(columns={"case": "subject_id", "t1": "image", "mask": "label"})
    return CohortFolder.from_table(root, df, path, label_values=label_values, grouping=grouping,
                                   allow_outside=allow_outside)


@register_source("first_n")
@dataclass
class FirstNSource(CohortSource):
    inner: SyntheticSource
    per_group: int

    @classmethod
    def label(cls, cfg):
        return f"{SyntheticSource.label(cfg)}-first{cfg['source']['per_group']}"

    @classmethod
    def prepare_key(cls, cfg):
        return SyntheticSource.prepare_key(cfg)  # the same cohort to generate before a sweep

    @classmethod
    def prepare(cls, cfg, num_workers="auto"):
        SyntheticSource.prepare(cfg, num_workers)

    @classmethod
    def from_config(cls, cfg, name):
        return cls(SyntheticSource.from_config(cfg), int(cfg.source.per_group))

    def _keep(self, folder):
        keep = [r for g in folder.groups for r in [r for r in folder.records if r.group == g][: self.per_group]]
        digest = hashlib.sha256(",".join(r.subject_id for r in keep).encode()).hexdigest()
        return CohortFolder(folder.root, keep, folder.groups, digest=digest)

    def roster(self):
        return self._keep(self.inner.roster())

    def cohort(self, paths):
        return self._keep(self.inner.cohort(paths))
"""

CASES_YAML = """\
defaults:
  - folder
  - _self_
name: case_list
module: my_lab_sources
options:
  table: cases.tsv
"""

FIRST_N_YAML = """\
defaults:
  - synthetic
  - _self_
name: first_n
module: my_lab_sources
per_group: 9
"""


@pytest.fixture
def user_conf(tmp_path, monkeypatch):
    """The user's module on ``sys.path`` and their config folder; the registrations are undone
    afterwards, so no other test sees them."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "my_lab_sources.py").write_text(textwrap.dedent(USER_MODULE))
    monkeypatch.syspath_prepend(str(code))
    conf = tmp_path / "my_conf" / "source"
    conf.mkdir(parents=True)
    (conf / "case_list.yaml").write_text(CASES_YAML)
    (conf / "first_n.yaml").write_text(FIRST_N_YAML)
    yield conf.parent
    LAYOUTS.pop("case_list", None)
    SOURCES.pop("first_n", None)
    sys.modules.pop("my_lab_sources", None)


def _compose(conf: Path, *overrides: str):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(config_name="main", overrides=[f"hydra.searchpath=[file://{conf}]", "logger=none", *overrides])


def test_a_new_layout_reads_a_users_folder_like_the_built_in_ones(user_conf, tmp_path):
    folder = build(tmp_path / "hospital_x", group_sizes={"F": 4, "M": 4})
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str)
    manifest.rename(columns={"subject_id": "case", "image": "t1", "label": "mask"}).to_csv(
        folder / "cases.tsv", sep="\t", index=False
    )
    (folder / "manifest.csv").unlink()  # only the new layout's table is left
    sizes = ["data.test_per_group=1", "data.val_per_group=1", "al.initial_size=2", "al.budget=1", "al.rounds=1"]
    run = ["source=case_list", f"source.cohort_dir={folder}", "init=balanced", *sizes]
    cfg = _compose(user_conf, *run)

    prepared = validate(cfg)  # read and validated before any training, as every layout is
    assert prepared.source.roster().subject_ids() == manifest["subject_id"].tolist()
    assert prepared.source.group_sizes() == {"F": 4, "M": 4}
    assert data_label(cfg) == "hospital_x"  # named by its folder, like any user's cohort
    # the synthetic generator's settings play no part in a user's cohort
    assert experiment_hash(cfg) == experiment_hash(_compose(user_conf, *run, "bias=weak"))
    with pytest.raises(ConfigError, match=r"source.options: .*sheet"):
        source_from_config(_compose(user_conf, *run, "+source.options.sheet=2"))


def test_a_new_source_owns_its_name_tag_hash_and_preparation(user_conf, cohort_cache):
    cfg = _compose(user_conf, "source=first_n", *SMOKE, f"paths.cohort_cache_dir={cohort_cache}")
    source = source_from_config(cfg)
    assert type(source).__name__ == "FirstNSource"
    assert source.group_sizes() == {"A": 9, "B": 9}  # smoke: 40 subjects, 20 a group
    assert data_label(cfg) == "strong-first9"
    assert cfg.run_name.startswith("weighted_entropy-strong-first9-")  # the run name asks the source
    assert _data_tag(cfg) == "data=strong-first9"  # and so does the W&B tag
    # a sweep prepares the synthetic cohort it reads (the same key as the synthetic source's)
    assert source.prepare_key(cfg) == SyntheticSource.prepare_key(_compose(user_conf, *SMOKE))
    # the hash keeps the bias (no exclusions) and sees per_group
    assert experiment_hash(cfg) != experiment_hash(_compose(user_conf, "source=first_n", *SMOKE, "bias=weak"))
    assert experiment_hash(cfg) != experiment_hash(_compose(user_conf, "source=first_n", *SMOKE, "source.per_group=8"))
    cohort = source.cohort({"cohort_cache_dir": str(cohort_cache)})
    assert [len(cohort.subject_ids(g)) for g in cohort.groups] == [9, 9]
    assert all(Path(r.image).is_file() for r in cohort.records)


def test_a_source_module_that_does_not_import_is_named(user_conf):
    cfg = _compose(user_conf, "source=first_n", *SMOKE, "source.module=my_lab_sourcez")
    with pytest.raises(ConfigError, match=r"source.module: cannot import 'my_lab_sourcez'"):
        source_from_config(cfg)


#: the user's metric: the absolute volume error of the prediction, in voxels (lower is better;
#: not a score in [0, 1], so no equity-scaled score or SER)
METRIC_MODULE = """
from fair_seg_al.metrics import Metric, register_metric

def volume_error(cases):
    pred = cases.pred.reshape(len(cases.pred), -1).float().sum(1)
    true = cases.target.reshape(len(cases.target), -1).float().sum(1)
    return (pred - true).abs().cpu().numpy()

register_metric(Metric("volume_error", volume_error, higher_is_better=False, equity=False))
"""


def test_a_new_metric_reaches_every_output(tmp_path, monkeypatch, run_experiment):
    from fair_seg_al.metrics import METRICS

    code = tmp_path / "code"
    code.mkdir()
    (code / "my_lab_metrics.py").write_text(METRIC_MODULE)
    monkeypatch.syspath_prepend(str(code))
    try:
        run = tmp_path / "run"
        run_experiment(run, *SMOKE, "al.rounds=0", "metrics.module=my_lab_metrics",
                       "metrics.names=[dice,nsd,hd95,volume_error]")  # fmt: skip
    finally:
        METRICS.pop("volume_error", None)
        sys.modules.pop("my_lab_metrics", None)
    rounds = pd.read_csv(run / "rounds.csv")
    per_image = pd.read_csv(run / "test_dice.csv")
    assert {"volume_error_A", "volume_error_B", "volume_error_disparity"} <= set(rounds.columns)
    assert "es_volume_error" not in rounds.columns  # not a score in [0, 1]
    for r, d in per_image.groupby("round"):  # the summaries recomputed from the written per-image values
        means = d.groupby("group")["volume_error"].mean()
        row = rounds.set_index("round").loc[r]
        assert row["volume_error_A"] == pytest.approx(means["A"]) and row["volume_error_B"] == pytest.approx(means["B"])
        assert row["volume_error_disparity"] == pytest.approx(abs(means["A"] - means["B"]))
        assert (d["volume_error"] >= 0).all() and d["volume_error"].round(6).eq(d["volume_error"].round()).all()
