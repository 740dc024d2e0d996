"""The project's dataset format, and its validating loader.

A cohort is a folder::

    DIR/
      manifest.csv        one row per subject: subject_id, group, image, label [, extra columns]
      images/<id>.nii.gz  3D image (any float or int dtype)
      labels/<id>.nii.gz  3D binary mask, same shape and affine as the image (1 = structure)
      cohort.json         optional: how the cohort was made (the generator writes it)

``image`` and ``label`` are paths relative to ``DIR`` (absolute paths work too). ``group``
is the sensitive attribute: any string, known for every subject. The synthetic generator
writes exactly this, so your own data plugs in by writing the same manifest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("subject_id", "group", "image", "label")
MAX_LISTED_PROBLEMS = 20


class CohortFormatError(ValueError):
    """A cohort folder does not follow the dataset format; the message lists every problem."""


@dataclass(frozen=True)
class SubjectRecord:
    """One manifest row with resolved paths; ``extra`` holds the other columns."""

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
        import hashlib

        return hashlib.sha256((self.root / "manifest.csv").read_bytes()).hexdigest()

    @classmethod
    def load(
        cls, root: str | os.PathLike, groups: Sequence[str] | None = None, check_data: bool = True
    ) -> CohortFolder:
        """Read and validate a cohort folder.

        Args:
            root: the folder.
            groups: the allowed group names (default: those in ``cohort.json``, else any).
            check_data: also open every image/label and check shapes, affines and labels.

        Raises:
            CohortFormatError: listing every problem found, each naming its subject.
        """
        root = Path(root).expanduser().resolve()
        if not root.is_dir():
            raise CohortFormatError(f"cohort folder {root} does not exist")
        manifest_path = root / "manifest.csv"
        if not manifest_path.is_file():
            raise CohortFormatError(f"{root} has no manifest.csv (see the dataset format in the README)")
        info = None
        if (root / "cohort.json").is_file():
            try:
                info = json.loads((root / "cohort.json").read_text())
            except json.JSONDecodeError as err:
                raise CohortFormatError(f"{root / 'cohort.json'} is not valid JSON: {err}") from None
        try:
            df = pd.read_csv(manifest_path, dtype={"subject_id": str, "group": str, "image": str, "label": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise CohortFormatError(f"{manifest_path} cannot be read as CSV: {err}") from None
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise CohortFormatError(f"{manifest_path} lacks column(s) {missing}; it needs {list(REQUIRED_COLUMNS)}")
        if df.empty:
            raise CohortFormatError(f"{manifest_path} lists no subjects")

        allowed = (
            list(groups) if groups is not None else (list(info["groups"]) if info and info.get("groups") else None)
        )
        problems: list[str] = []
        records: list[SubjectRecord] = []
        first_row: dict[str, int] = {}
        first_shape: tuple[str, tuple] | None = None
        for row_no, row in enumerate(df.to_dict("records"), start=2):  # row 1 is the header
            sid = row["subject_id"]
            if not isinstance(sid, str) or not sid.strip():
                problems.append(f"{manifest_path.name} row {row_no}: empty subject_id")
                continue
            if sid in first_row:
                problems.append(f"subject {sid}: duplicate subject_id (rows {first_row[sid]} and {row_no})")
                continue
            first_row[sid] = row_no
            group = row["group"]
            if not isinstance(group, str) or not group.strip():
                problems.append(f"subject {sid}: empty group")
                continue
            if allowed is not None and group not in allowed:
                problems.append(f"subject {sid}: unknown group {group!r} (expected one of {allowed})")
                continue
            paths = {}
            for kind in ("image", "label"):
                value = row[kind]
                path = (root / value) if isinstance(value, str) and value else None
                if path is None or not path.is_file():
                    problems.append(f"subject {sid}: {kind} file {value!r} not found under {root}")
                paths[kind] = path
            if None in paths.values() or not all(p.is_file() for p in paths.values()):
                continue
            extra = {k: v for k, v in row.items() if k not in REQUIRED_COLUMNS}
            record = SubjectRecord(sid, group, paths["image"], paths["label"], extra)
            if check_data:
                problem = _check_pair(record)
                if problem:
                    problems.append(f"subject {sid}: {problem}")
                    continue
                # volumes are batched together: one shape for the whole cohort
                shape = nib.load(record.image).shape
                if first_shape is None:
                    first_shape = (sid, shape)
                elif shape != first_shape[1]:
                    problems.append(
                        f"subject {sid}: shape {shape} differs from {first_shape[1]} of {first_shape[0]} "
                        "(all images of a cohort must have one shape)"
                    )
                    continue
            records.append(record)
        if problems:
            shown = problems[:MAX_LISTED_PROBLEMS]
            more = len(problems) - len(shown)
            text = "\n  - ".join(shown) + (f"\n  ... and {more} more" if more else "")
            raise CohortFormatError(f"cohort folder {root} is not valid ({len(problems)} problem(s)):\n  - {text}")
        found = sorted({r.group for r in records})
        ordered = [g for g in allowed if g in found] if allowed is not None else found
        return cls(root=root, records=records, groups=ordered, info=info)


def _check_pair(record: SubjectRecord) -> str | None:
    """The first problem with a subject's image/label pair, or None."""
    try:
        image = nib.load(record.image)
        label = nib.load(record.label)
    except Exception as err:  # nibabel raises several types for unreadable files
        return f"cannot read NIfTI ({type(err).__name__}: {err})"
    if len(image.shape) != 3:
        return f"image must be 3D, got shape {image.shape}"
    if image.shape != label.shape:
        return f"image shape {image.shape} != label shape {label.shape}"
    if not np.allclose(image.affine, label.affine, atol=1e-3):
        return "image and label affines differ"
    data = np.asanyarray(label.dataobj)
    values = np.unique(data)
    if not np.isin(values, (0, 1)).all():
        return f"label must be binary 0/1, found values {values[:10].tolist()}"
    if not (data > 0).any():
        return "label is empty (no foreground voxel)"
    return None
