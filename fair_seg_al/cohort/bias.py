"""The subgroup bias effect, localised to the left caudate.

Morphological effect (atrophy): a smooth contraction of the caudate. Its velocity field
points outward across the caudate boundary, ``v = -m * grad(G * M) / max|grad(G * M)|``
with ``M`` the caudate mask and ``G`` a Gaussian of width ``extent_mm``; as a backward
map it makes every voxel near the boundary sample tissue that lay further out, so the
boundary moves inward by about ``m`` mm on average (measured at 1 mm: 1.0-1.1 m at
m = 0.5, 0.7-0.9 m at m = 1.5, since the field weakens inside the structure; see
``tests/test_cohort_generator.py``), and the neighbours (mostly the lateral ventricle,
medially) fill the freed space. The field is exponentiated like the subject warps, so it
stays invertible at any magnitude. On a label-map anatomy (thinner caudates than the
template's) the velocity is capped by the local half-thickness (:func:`half_thickness`) less a
margin, so thin parts are not cut through; the template's field is not capped.

Intensity effect: the caudate's intensity is scaled by ``1 + c`` relative to its
neighbours, through the (deformed) soft caudate mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from fair_seg_al.cohort.deformation import exponentiate


@dataclass(frozen=True)
class LocalField:
    """A vector field ``(3, X, Y, Z)`` on a sub-box of a larger voxel grid; zero outside."""

    offset: np.ndarray  #: index of the sub-box's first voxel in the larger grid
    values: np.ndarray

    def sample(self, points: np.ndarray) -> np.ndarray:
        """Trilinear value at voxel ``points`` ``(3, N)`` of the larger grid (zero outside)."""
        local = points - self.offset[:, None]
        return np.stack(
            [ndimage.map_coordinates(self.values[c], local, order=1, mode="constant", cval=0.0) for c in range(3)]
        )


def atrophy_direction(caudate: np.ndarray, extent_mm: float, voxel_mm: float = 1.0) -> LocalField:
    """Outward velocity field of a unit caudate contraction, on a tight sub-box.

    Args:
        caudate: soft caudate mask on an isotropic grid of ``voxel_mm``.
        extent_mm: Gaussian width; the field decays within about 3 widths of the boundary.
    """
    sigma = extent_mm / voxel_mm
    smooth = ndimage.gaussian_filter(caudate.astype(np.float64), sigma)
    inside = np.argwhere(caudate > 0.01)
    margin = int(np.ceil(4 * sigma)) + 2
    lo = np.maximum(inside.min(axis=0) - margin, 0)
    hi = np.minimum(inside.max(axis=0) + margin + 1, caudate.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    grad = np.stack(np.gradient(smooth))
    norm = np.sqrt((grad**2).sum(axis=0))
    # Unit = the field's mean strength on the caudate boundary, so a magnitude of m moves
    # the boundary by m mm on average (more where the caudate is thick, less in its tail).
    boundary = (caudate > 0.25) & (caudate < 0.75)
    unit = norm[boundary].mean()
    return LocalField(offset=lo.astype(np.float64), values=(-grad[(slice(None), *box)] / unit).astype(np.float32))


def half_thickness(
    caudate: np.ndarray, direction: LocalField, window_mm: float = 3.0, voxel_mm: float = 1.0
) -> np.ndarray:
    """The caudate's local half-thickness (mm) on ``direction``'s sub-box: at each point, that of
    the caudate part nearest to it.

    A caudate voxel's half-thickness is the largest distance to the outside (the radius of the
    largest inscribed ball) within ``window_mm`` of it; every other point takes its nearest
    caudate voxel's value; a Gaussian of 1 mm smooths the result.
    """
    inside = caudate >= 0.5
    depth = ndimage.distance_transform_edt(inside) * voxel_mm
    size = 2 * int(np.ceil(window_mm / voxel_mm)) + 1
    local = ndimage.maximum_filter(depth, size=size) * inside
    nearest = ndimage.distance_transform_edt(~inside, return_distances=False, return_indices=True)
    spread = local[tuple(nearest)]
    box = tuple(slice(int(o), int(o) + n) for o, n in zip(direction.offset, direction.values.shape[1:], strict=True))
    return ndimage.gaussian_filter(spread, 1.0 / voxel_mm)[box].astype(np.float32)


def atrophy_displacement(
    direction: LocalField,
    magnitude_mm: float,
    steps: int,
    voxel_mm: float = 1.0,
    limit_mm: np.ndarray | None = None,
) -> LocalField:
    """Displacement (voxel units) of the contraction by ``magnitude_mm`` (negative: growth).

    Args:
        limit_mm: the most the velocity may move a point (mm), on ``direction``'s sub-box (None:
            no limit, the contraction of the template's cohorts). A share of the local
            half-thickness (:func:`half_thickness`) keeps thin parts from being cut through.
    """
    velocity = direction.values * (magnitude_mm / voxel_mm)
    if limit_mm is not None:
        speed = np.sqrt((velocity**2).sum(axis=0))
        velocity = velocity * np.minimum(1.0, (limit_mm / voxel_mm) / np.maximum(speed, 1e-12))
    return LocalField(offset=direction.offset, values=exponentiate(velocity, steps))
