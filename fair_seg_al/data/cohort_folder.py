"""The project's dataset format, and its validating loader.

A cohort is a folder::

    DIR/
      manifest.csv        one row per subject: subject_id, group, image, label [, extra columns]
      images/<id>.nii.gz  3D image (any float or int dtype)
      labels/<id>.nii.gz  3D binary mask, same shape and affine as the image (1 = structure)
      cohort.json         optional: how the cohort was made (the generator writes it)

``image`` and ``label`` are paths relative to ``DIR``; absolute paths, and relative ones that
lead outside ``DIR``, are refused unless ``allow_outside=True``. The groups come from
``group`` by default, or from any attribute columns (:class:`~fair_seg_al.data.attributes.Grouping`:
several columns give intersectional groups, a continuous one is binned). Every cell is read as
text: ``NA``, ``None`` or ``null`` is a group name, not a missing value. The synthetic generator
writes exactly this format, so your own data plugs in by writing the same manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from fair_seg_al.data.attributes import Grouping, assign_groups
from fair_seg_al.data.errors import MAX_LISTED_PROBLEMS, CohortFormatError, GroupingError

REQUIRED_COLUMNS = ("subject_id", "image", "label")


@dataclass(frozen=True)
class SubjectRecord:
    """One manifest row with resolved paths; ``extra`` holds the other columns, as text."""

    subject_id: str
    group: str
    image: Path
    label: Path
    extra: dict = field(default_factory=dict)


@dataclass
class CohortFolder:
    """A validated cohort folder (see the module docstring for the format)."""

    root: Path
    records: list[SubjectRecord]
    groups: list[str]
    info: dict | None = None
    digest: str | None = None  #: sha256 of the manifest (or of the table a dataset layout gave)
    label_values: list[int] | None = None  #: the structure's values in a multi-label segmentation (None: binary)

    def __post_init__(self) -> None:
        self._by_id = {r.subject_id: r for r in self.records}

    def __len__(self) -> int:
        return len(self.records)

    def record(self, subject_id: str) -> SubjectRecord:
        try:
            return self._by_id[subject_id]
        except KeyError:
            raise KeyError(f"no subject {subject_id!r} in cohort {self.root}") from None

    def subject_ids(self, group: str | None = None) -> list[str]:
        return [r.subject_id for r in self.records if group is None or r.group == group]

    def group_of(self, subject_id: str) -> str:
        return self.record(subject_id).group

    @property
    def fingerprint(self) -> str:
        """Identifies the data: the generator's content hash, else the manifest's."""
        if self.info and self.info.get("content_hash"):
            return str(self.info["content_hash"])
        return str(self.digest)

    @classmethod
    def load(
        cls,
        root: str | os.PathLike,
        groups: Sequence[str] | None = None,
        check_data: bool = True,
        grouping: Grouping | None = None,
        label_values: Sequence[int] | None = None,
        allow_outside: bool = False,
    ) -> CohortFolder:
        """Read and validate a cohort folder.

        Args:
            root: the folder.
            groups: the allowed group names (default: those in ``cohort.json``, else any).
            check_data: also open every image/label and check them: readable, 3D, finite
                voxels, image and label grids alike, and a non-empty structure.
            grouping: which attribute columns make the groups (default: the ``group`` column).
            label_values: for a multi-label segmentation, the values that make up the
                structure (e.g. ``[11]``, the left caudate of a FreeSurfer aseg; every other
                value is background). None: labels must be binary 0/1.
            allow_outside: accept image/label paths outside ``root``.

        Raises:
            CohortFormatError: listing every problem found, each naming its subject.
        """
        root = Path(root).expanduser().resolve()
        if not root.is_dir():
            raise CohortFormatError(f"cohort folder {root} does not exist")
        manifest_path = root / "manifest.csv"
        if not manifest_path.is_file():
            raise CohortFormatError(
                f"{root} has no manifest.csv (the folder layout: docs/guide.md, section 'Layouts (source=)')"
            )
        info = None
        if (root / "cohort.json").is_file():
            try:
                info = json.loads((root / "cohort.json").read_text())
            except json.JSONDecodeError as err:
                raise CohortFormatError(f"{root / 'cohort.json'} is not valid JSON: {err}") from None
        try:
            # every cell as text; only an empty cell is missing ("NA" and "None" are group names)
            df = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise CohortFormatError(f"{manifest_path} cannot be read as CSV: {err}") from None
        return cls.from_table(
            root,
            df,
            manifest_path,
            groups=groups,
            info=info,
            check_data=check_data,
            grouping=grouping,
            label_values=label_values,
            allow_outside=allow_outside,
            digest=hashlib.sha256(manifest_path.read_bytes()).hexdigest(),
        )

    @classmethod
    def from_table(
        cls,
        root: Path,
        df: pd.DataFrame,
        manifest_path: Path,
        groups: Sequence[str] | None = None,
        info: dict | None = None,
        check_data: bool = True,
        grouping: Grouping | None = None,
        label_values: Sequence[int] | None = None,
        allow_outside: bool = False,
        digest: str | None = None,
    ) -> CohortFolder:
        """Validate a manifest table (every cell text) whose paths are relative to ``root``.

        ``manifest_path`` names the table in messages (a manifest.csv, or the file a dataset
        layout was read from); the other arguments are those of :meth:`load`.
        """
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise CohortFormatError(f"{manifest_path} lacks column(s) {missing}; it needs {list(REQUIRED_COLUMNS)}")
        if df.empty:
            raise CohortFormatError(f"{manifest_path} lists no subjects")
        grouping = grouping or Grouping()
        try:
            assigned, group_order = assign_groups(df, grouping)
        except GroupingError as err:
            raise GroupingError(f"{manifest_path}: {err}") from None
        df = df.assign(_group=assigned)

        allowed = (
            list(groups)
            if groups is not None
            # the generator's group names describe its ``group`` column, not other attributes
            else (list(info["groups"]) if info and info.get("groups") and grouping == Grouping() else None)
        )
        problems: list[str] = []
        records: list[SubjectRecord] = []
        first_row: dict[str, int] = {}
        for row_no, row in enumerate(df.to_dict("records"), start=2):  # row 1 is the header
            sid = row["subject_id"]
            if not isinstance(sid, str) or not sid.strip():
                problems.append(f"{manifest_path.name} row {row_no}: empty subject_id")
                continue
            if sid in first_row:
                problems.append(f"subject {sid}: duplicate subject_id (rows {first_row[sid]} and {row_no})")
                continue
            first_row[sid] = row_no
            group = row["_group"]
            if allowed is not None and group not in allowed:
                problems.append(f"subject {sid}: unknown group {group!r} (expected one of {allowed})")
                continue
            paths = {}
            for kind in ("image", "label"):
                value = row[kind]
                path = (root / value).resolve() if value else None
                if path is not None and not allow_outside and not path.is_relative_to(root):
                    problems.append(
                        f"subject {sid}: {kind} path {value!r} leads outside the cohort folder {root} "
                        "(set source.allow_outside_paths=true to accept it)"
                    )
                    path = None
                elif path is None or not path.is_file():
                    problems.append(f"subject {sid}: {kind} file {value!r} not found under {root}")
                    path = None
                paths[kind] = path
            if None in paths.values():
                continue
            extra = {k: v for k, v in row.items() if k not in (*REQUIRED_COLUMNS, "group", "_group")}
            record = SubjectRecord(sid, group, paths["image"], paths["label"], extra)
            if check_data:
                found = check_pair(record, label_values)
                if found:
                    problems += [f"subject {sid}: {p}" for p in found]
                    continue
            records.append(record)
        if problems:
            shown = problems[:MAX_LISTED_PROBLEMS]
            more = len(problems) - len(shown)
            text = "\n  - ".join(shown) + (f"\n  ... and {more} more" if more else "")
            raise CohortFormatError(f"cohort folder {root} is not valid ({len(problems)} problem(s)):\n  - {text}")
        found = [g for g in group_order if g in {r.group for r in records}]
        ordered = [g for g in allowed if g in found] if allowed is not None else found
        digest = digest or hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()
        values = list(label_values) if label_values else None
        return cls(root=root, records=records, groups=ordered, info=info, digest=digest, label_values=values)


def check_pair(record: SubjectRecord, label_values: Sequence[int] | None = None) -> list[str]:
    """Every problem with a subject's image/label pair (empty if none)."""
    try:
        image = nib.load(record.image)
        label = nib.load(record.label)
        image_data = np.asanyarray(image.dataobj)  # reads it all: a truncated file fails here
        label_data = np.asanyarray(label.dataobj)
    except Exception as err:  # nibabel and zlib raise several types for unreadable or truncated files
        return [f"cannot read NIfTI ({type(err).__name__}: {err})"]
    problems = []
    for kind, shape in (("image", image.shape), ("label", label.shape)):
        if len(shape) != 3:
            problems.append(f"{kind} must be 3D, got shape {shape}")
    if problems:
        return problems
    if image.shape != label.shape:
        problems.append(f"image shape {image.shape} != label shape {label.shape}")
    elif not np.allclose(image.affine, label.affine, atol=1e-3):
        problems.append("image and label affines differ")
    if np.issubdtype(image_data.dtype, np.floating):
        bad = ~np.isfinite(image_data)
        if bad.any():
            problems.append(
                f"image has {int(np.isnan(image_data).sum())} NaN and {int(np.isinf(image_data).sum())} Inf voxels"
            )
    if np.issubdtype(label_data.dtype, np.floating) and not np.isfinite(label_data).all():
        return [*problems, "label has NaN or Inf voxels"]
    values = np.unique(label_data)
    if label_values is None:
        if not np.isin(values, (0, 1)).all():
            problems.append(
                f"label must be binary 0/1, found values {values[:10].tolist()} "
                "(for a multi-label segmentation choose the structure with source.label_values)"
            )
        elif not (values == 1).any():
            problems.append("label is empty (no foreground voxel)")
    elif not np.isin(values, list(label_values)).any():
        problems.append(
            f"label has no voxel with the structure's value(s) {list(label_values)} (values present: {values[:10].tolist()})"
        )
    return problems
