"""Standard dataset layouts, read as they are, into the project's manifest table.

- ``folder``: this project's format (``manifest.csv``; :mod:`fair_seg_al.data.cohort_folder`).
- ``nnunet``: the nnU-Net v2 raw layout: ``dataset.json``, ``imagesTr/<case>_0000<ext>``,
  ``labelsTr/<case><ext>``, plus a CSV of attributes with one row per case. The structure can
  be named as in ``dataset.json``'s ``labels`` (``structure: caudate``).
- ``bids``: BIDS raw data: attributes from ``participants.tsv`` (``n/a`` is BIDS's missing
  value), images and masks found by path patterns with ``{subject}`` (the label without
  ``sub-``), the masks usually in a derivatives folder.

Every layout gives the same table (``subject_id``, ``image``, ``label`` and the attribute
columns, every cell text), validated by :meth:`CohortFolder.from_table
<fair_seg_al.data.cohort_folder.CohortFolder.from_table>` like a manifest: missing files,
unreadable images, missing attributes, each named by subject.

A layout is a reader in :data:`LAYOUTS` (name -> reader), added with :func:`register_layout`, and
a ``conf/source/<name>.yaml`` whose ``options`` are the reader's keyword arguments:

    @register_layout("my_layout")
    def read_my_layout(root, *, label_values=None, grouping=None, allow_outside=False, **options):
        df, table_path = ...  # the manifest table, and the file it rests on
        return CohortFolder.from_table(root, df, table_path, label_values=label_values,
                                       grouping=grouping, allow_outside=allow_outside)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from fair_seg_al.data.attributes import Grouping
from fair_seg_al.data.cohort_folder import CohortFolder
from fair_seg_al.data.errors import CohortFormatError

#: A layout's reader: ``reader(root, *, label_values, grouping, allow_outside, **options)``.
LayoutReader = Callable[..., CohortFolder]
#: layout name -> reader (``source=<name>`` reads a user's folder with it)
LAYOUTS: dict[str, LayoutReader] = {}


def register_layout(name: str) -> Callable[[LayoutReader], LayoutReader]:
    """Decorator: make ``reader`` the layout ``source=<name>``."""

    def register(reader: LayoutReader) -> LayoutReader:
        LAYOUTS[name] = reader
        return reader

    return register


def _read_table(path: Path, sep: str = ",", na: Sequence[str] = ()) -> pd.DataFrame:
    if not path.is_file():
        raise CohortFormatError(f"{path} not found")
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CohortFormatError(f"{path} cannot be read: {err}") from None
    for value in na:  # a layout's own missing-value marker becomes an empty cell
        df = df.replace(value, "")
    return df


def nnunet_table(
    root: Path, attributes: str = "attributes.csv", id_column: str = "case", structure: str | None = None
) -> tuple[pd.DataFrame, Path, list[int] | None]:
    """(manifest table, the file it rests on, label values of ``structure`` or None)."""
    meta_path = root / "dataset.json"
    if not meta_path.is_file():
        raise CohortFormatError(f"{root} has no dataset.json (the nnU-Net raw layout)")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise CohortFormatError(f"{meta_path} is not valid JSON: {err}") from None
    ending = meta.get("file_ending", ".nii.gz")
    channels = meta.get("channel_names") or meta.get("modality") or {"0": "image"}
    if len(channels) != 1:
        raise CohortFormatError(f"{meta_path}: {len(channels)} input channels; fair_seg_al reads one (channel 0000)")
    values = None
    if structure is not None:
        labels = meta.get("labels") or {}
        if structure not in labels:
            raise CohortFormatError(f"{meta_path}: no label {structure!r}; its labels are {sorted(labels)}")
        v = labels[structure]
        values = [int(x) for x in (v if isinstance(v, list) else [v])]
    table_path = root / attributes
    attrs = _read_table(table_path)
    if id_column not in attrs.columns:
        raise CohortFormatError(
            f"{table_path} has no column {id_column!r} (the case identifier); it has {list(attrs.columns)}"
        )
    cases = attrs[id_column]
    df = attrs.drop(columns=[id_column]).assign(
        subject_id=cases,
        image=[f"imagesTr/{c}_0000{ending}" for c in cases],
        label=[f"labelsTr/{c}{ending}" for c in cases],
    )
    listed = set(cases)
    unlisted = sorted(p.name for p in (root / "labelsTr").glob(f"*{ending}") if p.name[: -len(ending)] not in listed)
    if unlisted:
        raise CohortFormatError(
            f"{table_path}: {len(unlisted)} case(s) in labelsTr have no attributes row, e.g. {unlisted[:5]} "
            "(every case needs its groups)"
        )
    return df, table_path, values


def bids_table(
    root: Path,
    image_pattern: str = "sub-{subject}/anat/sub-{subject}_T1w.nii.gz",
    label_pattern: str = "derivatives/masks/sub-{subject}/anat/sub-{subject}_desc-structure_mask.nii.gz",
) -> tuple[pd.DataFrame, Path]:
    """(manifest table, participants.tsv)."""
    table_path = root / "participants.tsv"
    attrs = _read_table(table_path, sep="\t", na=("n/a",))
    if "participant_id" not in attrs.columns:
        raise CohortFormatError(f"{table_path} has no participant_id column (BIDS requires it)")
    subjects = [p.removeprefix("sub-") for p in attrs["participant_id"]]
    try:
        images = [image_pattern.format(subject=s) for s in subjects]
        labels = [label_pattern.format(subject=s) for s in subjects]
    except (KeyError, IndexError, ValueError) as err:
        raise CohortFormatError(
            f"source.options: image_pattern / label_pattern may use only {{subject}} (got {err!r} in "
            f"{image_pattern!r} / {label_pattern!r})"
        ) from None
    df = attrs.drop(columns=["participant_id"]).assign(
        subject_id=[f"sub-{s}" for s in subjects], image=images, label=labels
    )
    return df, table_path


@register_layout("folder")
def read_folder(root: Path, *, label_values=None, grouping=None, allow_outside=False) -> CohortFolder:
    """This project's format: ``manifest.csv`` (:mod:`fair_seg_al.data.cohort_folder`); no options."""
    return CohortFolder.load(root, label_values=label_values, grouping=grouping, allow_outside=allow_outside)


@register_layout("nnunet")
def read_nnunet(root: Path, *, label_values=None, grouping=None, allow_outside=False, **options) -> CohortFolder:
    """The nnU-Net v2 raw layout (options: :func:`nnunet_table`'s)."""
    df, path, values = nnunet_table(root, **options)
    return CohortFolder.from_table(
        root, df, path, label_values=label_values or values, grouping=grouping, allow_outside=allow_outside
    )


@register_layout("bids")
def read_bids(root: Path, *, label_values=None, grouping=None, allow_outside=False, **options) -> CohortFolder:
    """BIDS raw data (options: :func:`bids_table`'s)."""
    df, path = bids_table(root, **options)
    return CohortFolder.from_table(
        root, df, path, label_values=label_values, grouping=grouping, allow_outside=allow_outside
    )


def load_cohort(
    root: str | Path,
    layout: str = "folder",
    options: Mapping | None = None,
    grouping: Grouping | None = None,
    label_values: Sequence[int] | None = None,
    allow_outside: bool = False,
) -> CohortFolder:
    """Read and validate a user's cohort in ``layout`` (see the module docstring).

    Raises:
        CohortFormatError: listing every problem, each naming its subject.
    """
    root = Path(root).expanduser().resolve()
    if layout not in LAYOUTS:
        raise CohortFormatError(f"unknown layout {layout!r}; one of {list(LAYOUTS)}")
    if not root.is_dir():
        raise CohortFormatError(f"cohort folder {root} does not exist")
    return LAYOUTS[layout](
        root, label_values=label_values, grouping=grouping, allow_outside=allow_outside, **dict(options or {})
    )
