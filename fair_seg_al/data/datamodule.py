"""LightningDataModule over a cohort folder, backed by a mutable :class:`ActivePool`.

Images are normalised once (TorchIO ``ZNormalization``) and cached in memory as tensors:
AL retrains and re-scores the same images every round. Training draws a fixed number of
samples per round with replacement (``max_steps x batch_size``), from a generator seeded
by ``(seed, round)``, so tiny labeled sets still give full rounds and every round is
reproducible on its own (which is what makes resume exact).

Lightning does not rebuild dataloaders when the pool changes during a fit; the AL loop
builds a fresh Trainer per round, and every ``*_dataloader`` call reads the current pool.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import pytorch_lightning as pl
import torch
import torchio as tio
from torch.utils.data import DataLoader, Dataset, RandomSampler
from tqdm.auto import tqdm

from fair_seg_al.data.augmentation import IMPLEMENTATIONS, LABEL_INTERPOLATIONS, BatchAugmentation
from fair_seg_al.data.cohort_folder import CohortFolder
from fair_seg_al.data.errors import CohortFormatError, DataChangedError, listing
from fair_seg_al.data.pool import ActivePool
from fair_seg_al.data.preprocess import Preprocessing, common_shape, pad_to
from fair_seg_al.data.splits import check_disjoint, make_split, per_group_count
from fair_seg_al.utils.io import atomic_path, stable_hash

log = logging.getLogger(__name__)


class CachedVolumes(Dataset):
    """Items ``{"image": (1, X, Y, Z) float32, "label": (1, X, Y, Z) int64, "id", "group"}``.

    ``spacing`` (mm) gives a TorchIO ``transform`` the volumes' real voxel size, so its
    translation is in millimetres, as the batched path's is (an identity affine would make
    ``translation: 2`` two voxels: 4 mm at 2 mm).
    """

    def __init__(
        self,
        store: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
        ids: Sequence[str],
        groups: Mapping[str, str],
        transform: tio.Transform | None = None,
        patch: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
        spacing: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> None:
        self.store, self.ids, self.groups, self.transform, self.patch = store, list(ids), groups, transform, patch
        self.affine = np.diag([*(float(s) for s in spacing), 1.0])

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        sid = self.ids[i]
        image, label = self.store[sid]
        if self.patch is not None:  # before augmentation: augmenting a patch is cheaper than a volume
            image, label = self.patch(image, label)
        if self.transform is not None:
            subject = self.transform(
                tio.Subject(
                    image=tio.ScalarImage(tensor=image, affine=self.affine),
                    label=tio.LabelMap(tensor=label, affine=self.affine),
                )
            )
            image, label = subject["image"].data, subject["label"].data
        return {"image": image, "label": label.long(), "id": sid, "group": self.groups[sid]}


def build_augmentation(cfg: Mapping | None) -> tio.Transform | None:
    """TorchIO training augmentation from ``data.augmentation`` (None when disabled, or when
    ``implementation: batched`` applies it to whole batches instead: :func:`build_batch_augmentation`).

    No left-right flips: the task is the *left* caudate. Labels are resampled by nearest
    neighbour (TorchIO's rule for a ``LabelMap``); translation is in mm (the dataset gives TorchIO
    the volumes' spacing: :class:`CachedVolumes`).
    """
    if not cfg or not cfg.get("enabled", False) or cfg.get("implementation", "torchio") != "torchio":
        return None
    return tio.Compose(
        [
            tio.RandomAffine(
                scales=cfg.get("scales", 0.05),
                degrees=cfg.get("degrees", 5),
                translation=cfg.get("translation", 2),
                p=cfg.get("p_affine", 0.5),
            ),
            tio.RandomGamma(log_gamma=cfg.get("log_gamma", 0.1), p=cfg.get("p_gamma", 0.3)),
            tio.RandomNoise(std=(0, cfg.get("noise_std", 0.05)), p=cfg.get("p_noise", 0.3)),
        ]
    )


def build_batch_augmentation(cfg: Mapping | None, spacing: Sequence[float]) -> BatchAugmentation | None:
    """The same augmentation as :func:`build_augmentation`, on whole batches as tensors
    (``implementation: batched``; None otherwise)."""
    if not cfg or not cfg.get("enabled", False) or cfg.get("implementation", "torchio") != "batched":
        return None
    return BatchAugmentation(
        scales=cfg.get("scales", 0.05),
        degrees=cfg.get("degrees", 5),
        translation=cfg.get("translation", 2),
        spacing=spacing,
        p_affine=cfg.get("p_affine", 0.5),
        log_gamma=cfg.get("log_gamma", 0.1),
        p_gamma=cfg.get("p_gamma", 0.3),
        noise_std=cfg.get("noise_std", 0.05),
        p_noise=cfg.get("p_noise", 0.3),
        label_interpolation=cfg.get("label_interpolation", "nearest"),
    )


def check_data_config(data: Mapping) -> Preprocessing:
    """Check ``data`` (preprocessing, patch size, augmentation) before any volume is read; return
    the preprocessing, which the source's grid check needs.

    Raises:
        ConfigError: naming the key at fault.
    """
    from fair_seg_al.config import ConfigError, config_source, require

    try:
        preprocessing = Preprocessing.from_config(data.get("preprocess"))
    except ValueError as err:
        raise ConfigError(f"data.preprocess: {err} (set in {config_source('data/preprocess')})") from None
    patch = data.get("patch_size")
    if patch:
        divisor = int(data.get("pad_divisor") or 1)
        require(
            len(patch) == 3 and all(int(p) >= 1 and int(p) % divisor == 0 for p in patch),
            "data.patch_size",
            f"must be three sizes divisible by the network's stride product {divisor}, got {list(patch)}",
            group="data",
        )
    augmentation = data.get("augmentation") or {}
    require(
        augmentation.get("implementation", "torchio") in IMPLEMENTATIONS,
        "data.augmentation.implementation",
        f"must be one of {list(IMPLEMENTATIONS)}, got {augmentation.get('implementation')!r}",
        group="data",
    )
    interpolation = augmentation.get("label_interpolation", "nearest")
    require(
        interpolation in LABEL_INTERPOLATIONS,
        "data.augmentation.label_interpolation",
        f"must be one of {list(LABEL_INTERPOLATIONS)}, got {interpolation!r}",
        group="data",
    )
    require(
        interpolation == "nearest" or augmentation.get("implementation", "torchio") == "batched",
        "data.augmentation.label_interpolation",
        f"{interpolation!r} exists only in the batched implementation (TorchIO resamples labels by nearest)",
        group="data",
    )
    return preprocessing


class PatchSampler:
    """One training patch per draw: centred on a structure voxel with probability ``pos_ratio``,
    anywhere otherwise (MONAI's ``RandCropByPosNegLabel``), from a seeded generator."""

    def __init__(self, size: Sequence[int], pos_ratio: float = 0.5, seed: int = 0) -> None:
        from monai.transforms import RandCropByPosNegLabel

        self.size, self.seed = tuple(int(s) for s in size), int(seed)
        self.crop = RandCropByPosNegLabel(
            self.size, pos=pos_ratio, neg=1.0 - pos_ratio, num_samples=1, allow_smaller=True
        )
        self.crop.set_random_state(seed)

    def for_worker(self, worker_id: int) -> None:
        """A DataLoader worker's own stream (workers start with copies of one random state)."""
        self.crop.set_random_state(self.seed * 1009 + worker_id + 1)

    def __call__(self, image: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.crop.randomize(label)
        return (
            torch.as_tensor(self.crop(image, label=label, randomize=False)[0]).contiguous(),
            torch.as_tensor(self.crop(label, label=label, randomize=False)[0]).contiguous(),
        )


def _patch_stream_per_worker(worker_id: int) -> None:
    info = torch.utils.data.get_worker_info()
    if info is not None and info.dataset.patch is not None:
        info.dataset.patch.for_worker(worker_id)


class ALDataModule(pl.LightningDataModule):
    """Test/validation sets fixed per ``split_seed``; the pool's labeled part trains.

    Args:
        cohort: a validated cohort (what a ``source`` gives: :mod:`fair_seg_al.data.source`), or
            the path of a folder in this project's format.
        test_per_group, val_per_group: sizes of the fixed, group-balanced sets: a count per
            group, or a fraction of the smallest group.
        split_seed: seed of the split (independent of the AL seed).
        hold_out: a manifest column (e.g. ``anatomy``) whose values never straddle the split: the
            test set is drawn from whole held-out units (see :func:`~fair_seg_al.data.splits.make_split`).
        batch_size: training batch size.
        eval_batch_size: batch size for scoring and evaluation.
        num_workers: DataLoader workers (0 is fastest for cached tiny volumes).
        patch_size: train on patches of this size (see :class:`PatchSampler`); None: whole volumes.
        augmentation: ``data.augmentation`` config (``enabled: false`` by default).
        preprocess: ``data.preprocess`` (:class:`~fair_seg_al.data.preprocess.Preprocessing`).
        pad_divisor: every volume is padded to one shape divisible by this (the network's
            stride product).
        cache_dir: where preprocessed volumes are kept between jobs (None: not kept); only
            used when preprocessing resamples or crops.
    """

    def __init__(
        self,
        cohort: CohortFolder | str | os.PathLike,
        test_per_group: int | float = 20,
        val_per_group: int | float = 5,
        split_seed: int = 0,
        hold_out: str | None = None,
        patch_size: Sequence[int] | None = None,
        batch_size: int = 4,
        eval_batch_size: int = 8,
        num_workers: int = 0,
        augmentation: Mapping | None = None,
        preprocess: Mapping | Preprocessing | None = None,
        pad_divisor: int = 1,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.preprocessing = (
            preprocess if isinstance(preprocess, Preprocessing) else Preprocessing.from_config(preprocess)
        )
        self.pad_divisor, self.cache_dir = int(pad_divisor), cache_dir
        self.patch_size = tuple(int(p) for p in patch_size) if patch_size else None
        self.cohort = cohort if isinstance(cohort, CohortFolder) else CohortFolder.load(cohort)
        self.label_values = self.cohort.label_values  # a layout may name the structure (nnU-Net's dataset.json)
        self.groups = self.cohort.groups
        sizes = {g: len(self.cohort.subject_ids(g)) for g in self.groups}
        self.split = make_split(
            self.cohort,
            per_group_count(test_per_group, sizes, "data.test_per_group"),
            per_group_count(val_per_group, sizes, "data.val_per_group"),
            split_seed,
            hold_out,
        )
        check_disjoint(self.split)
        self.pool = ActivePool(self.split["pool"], [self.cohort.group_of(s) for s in self.split["pool"]])
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        if augmentation and augmentation.get("implementation", "torchio") not in IMPLEMENTATIONS:
            raise ValueError(
                f"augmentation.implementation must be one of {IMPLEMENTATIONS}, got {augmentation.get('implementation')!r}"
            )
        self.augmentation = build_augmentation(augmentation)
        batched = bool(augmentation) and augmentation.get("implementation", "torchio") == "batched"
        self.batch_augmentation = build_batch_augmentation(augmentation, self.voxel_size) if batched else None
        self._augment_rng = torch.Generator()
        self.round_seed = 0
        self.train_samples = batch_size
        self._content: str | None = None
        self._store: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._group_map = {r.subject_id: r.group for r in self.cohort.records}

    # ----------------------------------------------------------------- data in memory
    def setup(self, stage: str | None = None) -> None:
        if self._store:
            return
        transform = self.preprocessing.transform(self.label_values)
        cache = self._cache_folder()
        loaded, failures = {}, []
        for rec in tqdm(self.cohort.records, desc="Loading cohort", unit="img", leave=False, disable=None):
            cached = cache / f"{rec.subject_id}.pt" if cache is not None else None
            if cached is not None and cached.is_file():
                item = torch.load(cached, weights_only=True)
            else:
                try:
                    item = transform({"image": str(rec.image), "label": str(rec.label)})
                except Exception as err:  # MONAI wraps the cause; name the subject, keep going, list all
                    cause = err.__cause__ or err
                    failures.append(f"subject {rec.subject_id}: preprocessing failed ({type(cause).__name__}: {cause})")
                    continue
                item = {"image": item["image"], "label": item["label"]}
                if not (torch.isfinite(item["image"]).all() and item["label"].any()):
                    failures.append(
                        f"subject {rec.subject_id}: after preprocessing the image is constant or not finite, "
                        "or the structure is gone (check the crop box and the spacing)"
                    )
                    continue
                if cached is not None:
                    with atomic_path(cached) as tmp:
                        torch.save(item, tmp)
            loaded[rec.subject_id] = item
        if failures:
            raise CohortFormatError(
                f"cohort {self.cohort.root}: " + listing("subjects cannot be preprocessed", failures)
            )
        # one shape for the whole cohort (batches, and the network's strides), at least a patch
        shapes = [it["image"].shape[1:] for it in loaded.values()] + ([self.patch_size] if self.patch_size else [])
        self.shape = common_shape(shapes, self.pad_divisor)
        for sid, it in loaded.items():
            self._store[sid] = pad_to(it["image"], it["label"], self.shape)

    def _cache_folder(self) -> Path | None:
        """Preprocessed volumes are kept only where making them costs more than reading the files."""
        p = self.preprocessing
        if self.cache_dir is None or (p.spacing is None and p.crop == "none"):
            return None
        # the files themselves (path, size, modification time): an image fixed in place is preprocessed again
        files = [
            (str(f), f.stat().st_size, f.stat().st_mtime_ns) for r in self.cohort.records for f in (r.image, r.label)
        ]
        key = stable_hash([self.cohort.fingerprint, p.key, self.label_values, files])
        return Path(self.cache_dir) / "preprocessed" / key

    @property
    def voxel_size(self) -> tuple[float, float, float]:
        """Voxel size in mm of the grid the network sees, in its axis order (boundary metrics)."""
        if self.preprocessing.spacing is not None:
            return tuple(float(s) for s in self.preprocessing.spacing)
        image = nib.load(self.cohort.records[0].image)  # header only; every subject shares it (checked)
        if self.preprocessing.orientation is not None:
            image = nib.as_closest_canonical(image)
        return tuple(float(z) for z in image.header.get_zooms()[:3])

    @property
    def volume_shape(self) -> tuple[int, ...]:
        self.setup()
        return tuple(next(iter(self._store.values()))[0].shape[1:])

    def group_of(self, subject_id: str) -> str:
        return self._group_map[subject_id]

    # ----------------------------------------------------------------- round control
    def start_round(self, round_seed: int, train_samples: int) -> None:
        """Set what the next ``train_dataloader`` draws: its seed and sample count (and the seed
        of the round's batched augmentation)."""
        self.round_seed, self.train_samples = round_seed, train_samples
        self._augment_rng = torch.Generator().manual_seed((round_seed * 1_000_003 + 17) % 2**63)

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        """Batched augmentation, on the training device, for training batches only."""
        if self.batch_augmentation is not None and self.trainer is not None and self.trainer.training:
            batch["image"], batch["label"] = self.batch_augmentation(batch["image"], batch["label"], self._augment_rng)
        return batch

    @property
    def train_ids(self) -> list[str]:
        """Labeled images that train: held-out ones (fixed when labeled) never do."""
        return self.pool.train_ids

    # ----------------------------------------------------------------- loaders
    def dataset(self, ids: Sequence[str], train: bool = False, seed: int = 0) -> CachedVolumes:
        self.setup()
        patch = PatchSampler(self.patch_size, seed=seed) if train and self.patch_size else None
        transform = self.augmentation if train else None
        return CachedVolumes(self._store, ids, self._group_map, transform, patch, self.voxel_size)

    def loader(self, ids: Sequence[str], batch_size: int | None = None) -> DataLoader:
        """Ordered, non-augmented loader over ``ids`` (scoring and evaluation)."""
        return DataLoader(
            self.dataset(ids),
            batch_size=batch_size or self.eval_batch_size,
            shuffle=False,
            num_workers=self.num_workers,
        )

    def sampling_loader(self, ids: Sequence[str], samples: int, seed: int) -> DataLoader:
        """Augmented training loader: ``samples`` draws with replacement from ``ids``, seeded."""
        if not ids:
            raise RuntimeError("no labeled training images: the initial set is empty")
        generator = torch.Generator().manual_seed(seed)
        sampler = RandomSampler(range(len(ids)), replacement=True, num_samples=samples, generator=generator)
        return DataLoader(
            self.dataset(ids, train=True, seed=seed),
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            drop_last=False,
            worker_init_fn=_patch_stream_per_worker if self.num_workers and self.patch_size else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self.sampling_loader(self.train_ids, self.train_samples, self.round_seed)

    def val_dataloader(self) -> DataLoader:
        return self.loader(self.split["val"])

    def test_dataloader(self) -> DataLoader:
        return self.loader(self.split["test"])

    # ----------------------------------------------------------------- state
    @property
    def content_fingerprint(self) -> str:
        """sha256 of what the run sees: every subject's id, group and voxels, as preprocessed.

        It follows the data, not the files that describe it: an image edited in place, a
        new generator version or another preprocessing changes it; a manifest re-saved with
        other column order, extra columns or new timestamps on the files does not.
        """
        if self._content is None:
            self.setup()
            digest = hashlib.sha256()
            for sid in sorted(self._store):
                digest.update(f"{sid}\0{self._group_map[sid]}\0".encode())
                for volume in self._store[sid]:
                    digest.update(f"{volume.dtype}{tuple(volume.shape)}".encode())
                    digest.update(volume.contiguous().numpy().tobytes())
            self._content = digest.hexdigest()
        return self._content

    def state_dict(self) -> dict:
        return {
            "pool": self.pool.state_dict(),
            "split": self.split,
            "cohort": self.cohort.fingerprint,
            "content": self.content_fingerprint,
        }

    def check_same_data(self, state: dict, where: str | Path = "the saved AL state") -> None:
        """Refuse to continue a run whose saved state was computed on other data.

        Raises:
            DataChangedError: the split or the data's content differ (states written before
                the content fingerprint existed are checked on the split only).
        """
        if state["split"] != self.split:
            raise DataChangedError(
                f"{where}: its test/val/pool split differs from this cohort's with this data.split_seed; "
                "the cohort's subjects or groups changed. Start a new run (resume=false) or restore the data."
            )
        saved = state.get("content")
        if saved is None:
            log.warning("%s predates data fingerprints: only its split was checked", where)
        elif saved != self.content_fingerprint:
            raise DataChangedError(
                f"{where}: the cohort's images or labels changed since this run's state was saved "
                f"(content fingerprint {saved[:12]}, now {self.content_fingerprint[:12]}, cohort {self.cohort.root}). "
                "An image or label was edited, or the generator or the preprocessing (data.preprocess) changed. "
                "Start a new run (resume=false) or restore the data it was computed on."
            )

    def load_state_dict(self, state: dict) -> None:
        self.check_same_data(state)
        self.pool.load_state_dict(state["pool"])
