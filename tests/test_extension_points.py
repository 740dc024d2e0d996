"""Adding a folder layout or a cohort source touches one module and one config: each is done
here, its code in this file and its config written into a folder on Hydra's search path (as a
user's own ``--config-dir`` would hold it). Nothing else of the package learns its name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from fair_seg_al.data.cohort_folder import CohortFolder
from fair_seg_al.data.layouts import LAYOUTS, register_layout
from fair_seg_al.data.source import SOURCES, CohortSource, SyntheticSource, register_source, source_from_config
from fair_seg_al.examples.own_cohort import build
from fair_seg_al.experiment import validate
from fair_seg_al.loggers import _data_tag
from fair_seg_al.run_identity import data_label, experiment_hash
from tests.conftest import CONF, SMOKE

# --- a layout: a tab-separated case list with its own column names -----------------------------

CASES_YAML = """\
defaults:
  - folder
  - _self_
name: case_list
options:
  table: cases.tsv
"""


def read_case_list(root: Path, *, label_values=None, grouping=None, allow_outside=False, table="cases.tsv"):
    """``<table>``: columns ``case``, ``t1``, ``mask`` and the attributes, tab-separated."""
    path = root / table
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    df = df.rename(columns={"case": "subject_id", "t1": "image", "mask": "label"})
    return CohortFolder.from_table(
        root, df, path, label_values=label_values, grouping=grouping, allow_outside=allow_outside
    )


# --- a source: the synthetic cohort, its first n subjects of each group -------------------------

SUBSET_YAML = """\
defaults:
  - synthetic
  - _self_
name: first_n
per_group: 9
"""


@dataclass
class FirstNSource(CohortSource):
    """The synthetic cohort of the config, keeping each group's first ``per_group`` subjects."""

    inner: SyntheticSource
    per_group: int

    @classmethod
    def label(cls, cfg) -> str:
        return f"{SyntheticSource.label(cfg)}-first{cfg['source']['per_group']}"

    @classmethod
    def prepare_key(cls, cfg) -> str:
        return SyntheticSource.prepare_key(cfg)  # the same cohort to generate before a sweep

    @classmethod
    def prepare(cls, cfg, num_workers="auto") -> None:
        SyntheticSource.prepare(cfg, num_workers)

    @classmethod
    def from_config(cls, cfg, name):
        return cls(SyntheticSource.from_config(cfg), int(cfg.source.per_group))

    def _keep(self, folder: CohortFolder) -> CohortFolder:
        keep = [r for g in folder.groups for r in [r for r in folder.records if r.group == g][: self.per_group]]
        digest = hashlib.sha256(",".join(r.subject_id for r in keep).encode()).hexdigest()
        return CohortFolder(folder.root, keep, folder.groups, digest=digest)

    def roster(self) -> CohortFolder:
        return self._keep(self.inner.roster())

    def cohort(self, paths) -> CohortFolder:
        return self._keep(self.inner.cohort(paths))


@pytest.fixture
def user_conf(tmp_path):
    """A user's config folder holding the two new ``source`` configs, and the two registrations
    (undone afterwards, so no other test sees them)."""
    conf = tmp_path / "my_conf" / "source"
    conf.mkdir(parents=True)
    (conf / "case_list.yaml").write_text(CASES_YAML)
    (conf / "first_n.yaml").write_text(SUBSET_YAML)
    register_layout("case_list")(read_case_list)
    register_source("first_n")(FirstNSource)
    yield conf.parent
    LAYOUTS.pop("case_list")
    SOURCES.pop("first_n")


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
    cfg = _compose(user_conf, "source=case_list", f"source.cohort_dir={folder}", "init=balanced", *sizes)

    prepared = validate(cfg)  # read and validated before any training, as every layout is
    assert prepared.source.roster().subject_ids() == manifest["subject_id"].tolist()
    assert prepared.source.group_sizes() == {"F": 4, "M": 4}
    assert data_label(cfg) == "hospital_x"  # named by its folder, like any user's cohort
    # the synthetic generator's settings play no part in a user's cohort
    assert experiment_hash(cfg) == experiment_hash(_compose(user_conf, "source=case_list",
                                                            f"source.cohort_dir={folder}", "init=balanced",
                                                            "bias=weak", *sizes))  # fmt: skip
    bad = _compose(user_conf, "source=case_list", f"source.cohort_dir={folder}", "+source.options.sheet=2")
    with pytest.raises(Exception, match=r"source.options: .*sheet"):
        source_from_config(bad)


def test_a_new_source_owns_its_name_tag_hash_and_preparation(user_conf, tmp_path, cohort_cache):
    cfg = _compose(user_conf, "source=first_n", *SMOKE, f"paths.cohort_cache_dir={cohort_cache}")
    source = source_from_config(cfg)
    assert isinstance(source, FirstNSource)
    assert source.group_sizes() == {"A": 9, "B": 9}  # smoke: 40 subjects, 20 a group
    assert data_label(cfg) == "strong-first9"
    assert cfg.run_name.startswith("weighted_entropy-strong-first9-")  # the run name asks the source
    assert _data_tag(cfg) == "data=strong-first9"  # and so does the W&B tag
    # a sweep prepares the synthetic cohort it reads (the same key as the synthetic source's)
    synthetic = _compose(user_conf, *SMOKE)
    assert FirstNSource.prepare_key(cfg) == SyntheticSource.prepare_key(synthetic)
    # the hash keeps the bias (no exclusions) and sees per_group
    assert experiment_hash(cfg) != experiment_hash(_compose(user_conf, "source=first_n", *SMOKE, "bias=weak"))
    assert experiment_hash(cfg) != experiment_hash(_compose(user_conf, "source=first_n", *SMOKE, "source.per_group=8"))
    cohort = source.cohort({"cohort_cache_dir": str(cohort_cache)})
    assert [len(cohort.subject_ids(g)) for g in cohort.groups] == [9, 9]
    assert all(Path(r.image).is_file() for r in cohort.records)
