"""Where a run's cohort comes from: the config group ``source``.

- ``synthetic`` (default): generated from the ``cohort`` and ``bias`` configs, once, and cached
  under ``paths.cohort_cache_dir`` by the hash of its settings.
- ``folder``, ``nnunet``, ``bids``: your own data, read in that layout
  (:mod:`fair_seg_al.data.layouts`) and validated before any training.

Every source gives the same product, a validated :class:`~fair_seg_al.data.cohort_folder.CohortFolder`;
the DataModule takes that cohort and its loader settings only. A source answers two questions
before anything is generated or trained: its group sizes (to size the splits and the budget) and
whether its images can share one grid. It also owns its identity, read from the config alone:
its label in run names and reports, its W&B tag, the config keys that play no part in its
results (left out of the experiment hash) and what a sweep prepares before its jobs start.
Nothing outside this module asks which source a run has.

A new source is a :class:`CohortSource` subclass registered with :func:`register_source` and a
``conf/source/<name>.yaml``; a new folder layout is a reader registered in
:mod:`fair_seg_al.data.layouts`. Their module may be a user's own: ``source.module`` names it,
and it is imported before the source is looked up.

    >>> from omegaconf import OmegaConf
    >>> cfg = OmegaConf.create({"source": {"name": "folder", "cohort_dir": None}})
    >>> source_from_config(cfg)
    Traceback (most recent call last):
    ...
    fair_seg_al.config.ConfigError: source.cohort_dir: your cohort's folder is needed with source=folder, e.g. source.cohort_dir=data/my_cohort (set in the config)
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from omegaconf import DictConfig, OmegaConf

from fair_seg_al.cohort import CohortSpec, generate_cohort
from fair_seg_al.cohort.generator import subject_table
from fair_seg_al.config import ConfigError, import_user_module, require
from fair_seg_al.data.attributes import Grouping, assign_groups
from fair_seg_al.data.cohort_folder import CohortFolder, SubjectRecord
from fair_seg_al.data.errors import CohortFormatError, listing
from fair_seg_al.data.layouts import LAYOUTS, load_cohort
from fair_seg_al.data.preprocess import Preprocessing, check_grids

SYNTHETIC = "synthetic"


def _plain(node) -> dict:
    """A config node as a plain dict ({} for a missing or empty one)."""
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node or {})


class CohortSource:
    """Where a run's cohort comes from: its identity (class methods, from the config alone) and,
    once built by :meth:`from_config`, its subjects and images."""

    #: config keys that play no part in this source's results (left out of the experiment hash)
    hash_exclusions: ClassVar[tuple[str, ...]] = ()

    # --- identity, from the config alone (archived run configs included) -------------------
    @classmethod
    def label(cls, cfg: Mapping) -> str:
        """What the data is called in run names, tags and the report's cells."""
        raise NotImplementedError

    @classmethod
    def tag(cls, cfg: Mapping) -> str:
        """The run's W&B tag for its data."""
        return f"data={cls.label(cfg)}"

    @classmethod
    def prepare_key(cls, cfg: Mapping) -> str | None:
        """What a sweep must prepare once before its jobs start (None: nothing)."""
        return None

    @classmethod
    def prepare(cls, cfg: DictConfig, num_workers: int | str = "auto") -> None:
        """Prepare it (called once per distinct :meth:`prepare_key`, in the launching process)."""

    # --- the source itself ------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: DictConfig, name: str) -> CohortSource:
        """Build the source of ``cfg`` (``name``: the ``source.name`` it was registered under)."""
        raise NotImplementedError

    def roster(self) -> CohortFolder:
        """The subjects, their groups and attributes (before any image is made or read)."""
        raise NotImplementedError

    def group_sizes(self) -> dict[str, int]:
        roster = self.roster()
        return {g: len(roster.subject_ids(g)) for g in roster.groups}

    def check_grids(self, preprocessing: Preprocessing) -> None:
        """Raise if the images cannot share one grid (nothing to check by default)."""

    def cohort(self, paths: Mapping) -> CohortFolder:
        """The cohort, ready to read."""
        raise NotImplementedError


#: ``source.name`` -> its class (the folder layouts' names map to :class:`FolderSource`).
SOURCES: dict[str, type[CohortSource]] = {}


def register_source(name: str):
    """Class decorator: make a :class:`CohortSource` subclass the source ``source=<name>``."""

    def register(cls: type[CohortSource]) -> type[CohortSource]:
        SOURCES[name] = cls
        return cls

    return register


def source_names() -> list[str]:
    """Every ``source.name`` a config may give: the registered sources and the folder layouts."""
    return [*SOURCES, *(name for name in LAYOUTS if name not in SOURCES)]


def source_name(cfg: Mapping) -> str:
    """The ``source.name`` of a config; also reads run configs archived before the ``source``
    group existed (their user folder was ``data.cohort_dir``)."""
    source = cfg.get("source")
    if source is not None:
        return str(source.get("name", SYNTHETIC))
    data = cfg.get("data") or {}
    return str(data.get("layout") or "folder") if data.get("cohort_dir") else SYNTHETIC


def source_kind(cfg: Mapping) -> type[CohortSource]:
    """The class of the config's source (a folder layout's name gives :class:`FolderSource`).

    Raises:
        ConfigError: an unknown ``source.name`` (the names it may take listed).
    """
    _import_source_module(cfg)
    name = source_name(cfg)
    if name in SOURCES:
        return SOURCES[name]
    require(name in LAYOUTS, "source", f"must be one of {source_names()}, got {name!r}", group="source")
    return FolderSource


def _import_source_module(cfg: Mapping) -> None:
    """Import ``source.module`` (a user's module that registers its source or layout), if set."""
    module = (cfg.get("source") or {}).get("module")
    if module:
        import_user_module(module, "source.module", "source")


def source_from_config(cfg: DictConfig) -> CohortSource:
    """The run's cohort source from ``cfg.source`` (and, for the synthetic one, ``cfg.cohort`` and ``cfg.bias``).

    A user's folder is read and validated here, before any training.

    Raises:
        ConfigError: a key of ``source`` is missing or wrong (named).
        CohortFormatError: the user's cohort is not valid (every problem listed, by subject).
    """
    return source_kind(cfg).from_config(cfg, source_name(cfg))


@register_source(SYNTHETIC)
@dataclass
class SyntheticSource(CohortSource):
    """The built-in synthetic cohort of ``spec`` (generated on first use, then read from the cache).

    Its groups are the engineered ``group`` column by default; ``grouping`` may take them from
    other attributes instead, e.g. the base anatomy's ``anatomy_sex`` (an unengineered difference).
    """

    spec: CohortSpec
    grouping: Grouping = field(default_factory=Grouping)
    name: str = SYNTHETIC

    @classmethod
    def label(cls, cfg: Mapping) -> str:
        """The bias preset's name."""
        return str((cfg.get("bias") or {}).get("name"))

    @classmethod
    def tag(cls, cfg: Mapping) -> str:
        return f"bias={cls.label(cfg)}"

    @classmethod
    def prepare_key(cls, cfg: Mapping) -> str:
        """The cohort's cache key: jobs that share it share one generated cohort."""
        from fair_seg_al.cohort.generator import cohort_key

        return cohort_key(CohortSpec.from_config(cfg["cohort"], cfg["bias"]))

    @classmethod
    def prepare(cls, cfg: DictConfig, num_workers: int | str = "auto") -> None:
        """Generate the cohort into the cache (with every core of the launching machine)."""
        cls.from_config(cfg).generate(OmegaConf.to_container(cfg.paths, resolve=True), num_workers)

    @classmethod
    def from_config(cls, cfg: DictConfig, name: str = SYNTHETIC) -> SyntheticSource:
        spec = CohortSpec.from_config(cfg.cohort, cfg.bias)
        node = cfg.get("source") or {}
        return cls(spec, _grouping(node, name)) if node.get("groups") else cls(spec)

    def roster(self) -> CohortFolder:
        """The subjects, their groups and attributes, known before any image is made (no files)."""
        table = subject_table(self.spec).astype(str)
        groups, order = assign_groups(table, self.grouping)
        if self.grouping == Grouping():
            order = list(self.spec.groups)
        extra = table.drop(columns=["subject_id", "group"]).to_dict("records")
        records = [
            SubjectRecord(sid, g, Path(), Path(), e)
            for sid, g, e in zip(table["subject_id"], groups, extra, strict=True)
        ]
        return CohortFolder(Path(), records, [g for g in order if g in set(groups)])

    def check_grids(self, preprocessing: Preprocessing) -> None:
        """Nothing to check: every synthetic subject is made on one grid."""

    def generate(self, paths: Mapping, num_workers: int | str = "auto") -> Path:
        """Generate the cohort (or find it in the cache); its folder."""
        return generate_cohort(
            self.spec,
            cache_dir=paths["cohort_cache_dir"],
            num_workers=num_workers,
            lock=paths.get("lock", "auto"),
            lock_timeout_s=paths.get("lock_timeout_s"),
        )

    def cohort(self, paths: Mapping) -> CohortFolder:
        """Generate the cohort (or reuse the cached one) and read it."""
        root = self.generate(paths)
        return CohortFolder.load(root, grouping=None if self.grouping == Grouping() else self.grouping)


@dataclass
class FolderSource(CohortSource):
    """A user's cohort, already read and validated (``source`` = folder | nnunet | bids | another layout)."""

    folder: CohortFolder
    name: str = "folder"

    #: a user's cohort: the synthetic generator's settings play no part
    hash_exclusions: ClassVar[tuple[str, ...]] = ("cohort", "bias")

    @classmethod
    def label(cls, cfg: Mapping) -> str:
        """The cohort folder's name (the layout's, before a folder is given)."""
        folder = user_cohort_dir(cfg)
        return folder_label(folder) if folder else source_name(cfg)

    @classmethod
    def from_config(cls, cfg: DictConfig, name: str = "folder") -> FolderSource:
        node = cfg.get("source") or {}
        cohort_dir = node.get("cohort_dir")
        require(
            bool(cohort_dir),
            "source.cohort_dir",
            f"your cohort's folder is needed with source={name}, e.g. source.cohort_dir=data/my_cohort",
            group="source",
        )
        grouping = _grouping(node, name)
        label_values = node.get("label_values")
        require(
            label_values is None
            or (
                OmegaConf.is_list(label_values)
                and all(isinstance(v, int) and not isinstance(v, bool) for v in label_values)
            ),
            "source.label_values",
            f"must be a list of integer label values, e.g. [11], or null; got {label_values!r}",
            group="source",
        )
        options = _plain(node.get("options"))
        try:  # the options against the layout reader's own parameters, before anything is read
            inspect.signature(LAYOUTS[name]).bind(
                Path(), label_values=None, grouping=None, allow_outside=False, **options
            )
        except TypeError as err:
            raise ConfigError(f"source.options: {err} (source={name})") from None
        folder = load_cohort(
            cohort_dir,
            name,
            options,
            grouping=grouping,
            label_values=list(label_values) if label_values else None,
            allow_outside=bool(node.get("allow_outside_paths", False)),
        )
        return cls(folder, name)

    def roster(self) -> CohortFolder:
        return self.folder

    def check_grids(self, preprocessing: Preprocessing) -> None:
        """Raise :class:`CohortFormatError` listing the subjects that cannot share one grid."""
        problems = check_grids(self.folder.records, preprocessing)
        if problems:
            raise CohortFormatError(
                f"cohort folder {self.folder.root}: " + listing("subjects cannot share one grid", problems)
            )

    def cohort(self, paths: Mapping) -> CohortFolder:
        return self.folder


def _grouping(node, name: str) -> Grouping:
    try:
        return Grouping.from_config(_plain(node.get("groups")))
    except (ValueError, TypeError) as err:
        raise ConfigError(f"source.groups: {err} (set in conf/source/{name}.yaml or a command-line override)") from None


def user_cohort_dir(cfg: Mapping) -> str | None:
    """The folder of a user's cohort (None for the synthetic source), old and new configs alike."""
    source = cfg.get("source")
    if source is not None:
        return source.get("cohort_dir") if source.get("name", SYNTHETIC) != SYNTHETIC else None
    return (cfg.get("data") or {}).get("cohort_dir") or None


def folder_label(cohort_dir: str | Path) -> str:
    """A user's cohort as named in run names and reports: its folder's name."""
    return Path(str(cohort_dir)).expanduser().resolve().name or str(cohort_dir)
