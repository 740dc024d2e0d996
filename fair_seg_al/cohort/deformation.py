"""Random smooth, invertible deformations (subject variation).

A deformation is the exponential of a stationary velocity field, integrated by scaling
and squaring (MONAI's :class:`~monai.networks.blocks.DVF2DDF`): for a smooth field this
is a diffeomorphism, unlike a raw B-spline displacement that can fold. Displacements are
backward maps: the output voxel at ``x`` takes its value from ``x + u(x)``.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import torch
from monai.networks.blocks import DVF2DDF
from scipy import ndimage


@lru_cache(maxsize=4)
def _integrator(steps: int) -> DVF2DDF:
    with warnings.catch_warnings():  # MONAI notes it uses torch's grid_sample: expected here
        warnings.filterwarnings("ignore", message=".*native grid_sample", category=UserWarning)
        return DVF2DDF(num_steps=steps, mode="bilinear", padding_mode="border")


def exponentiate(velocity: np.ndarray, steps: int = 7) -> np.ndarray:
    """Displacement field of the diffeomorphism ``exp(velocity)``.

    Args:
        velocity: stationary velocity field ``(3, X, Y, Z)`` in voxel units, channel ``i``
            along array axis ``i``.
        steps: scaling-and-squaring steps (the field is divided by ``2**steps``).

    Returns:
        Displacement field ``(3, X, Y, Z)`` in voxel units, float32.
    """
    with torch.inference_mode():
        dvf = torch.from_numpy(np.ascontiguousarray(velocity, dtype=np.float32))[None]
        return _integrator(steps)(dvf)[0].numpy()


def random_velocity_field(
    rng: np.random.Generator,
    shape: tuple[int, int, int],
    spacing_mm: float,
    smoothness_mm: float,
    rms_mm: float,
) -> np.ndarray:
    """A smooth random velocity field ``(3, *shape)`` in mm with RMS ``rms_mm``.

    Gaussian noise on control points ``smoothness_mm`` apart is interpolated with cubic
    B-splines onto the voxel grid, then rescaled to the requested RMS.
    """
    extent = np.asarray(shape) * spacing_mm
    n_ctrl = np.maximum(np.ceil(extent / smoothness_mm).astype(int) + 1, 2)
    noise = rng.standard_normal((3, *n_ctrl))
    zoom = [(s - 1) / (c - 1) if c > 1 else 1 for s, c in zip(shape, n_ctrl, strict=True)]
    field = np.stack([ndimage.zoom(noise[c], zoom, order=3, mode="nearest", grid_mode=False) for c in range(3)])
    field = field[:, : shape[0], : shape[1], : shape[2]]
    rms = float(np.sqrt(np.mean(np.sum(field**2, axis=0))))
    if rms_mm == 0 or rms == 0:
        return np.zeros((3, *shape), dtype=np.float32)
    return (field * (rms_mm / rms)).astype(np.float32)


def rotation_matrix(angles_rad: np.ndarray) -> np.ndarray:
    """Rotation ``Rz @ Ry @ Rx`` for angles about x, y, z (radians)."""
    ax, ay, az = angles_rad
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def random_affine(
    rng: np.random.Generator, rotation_deg: float, scaling: float, translation_mm: float, center: np.ndarray
) -> np.ndarray:
    """A 4x4 world-space affine: rotation and isotropic scaling about ``center``, then a shift."""
    angles = np.deg2rad(rng.uniform(-rotation_deg, rotation_deg, size=3))
    scale = rng.uniform(1 - scaling, 1 + scaling)
    shift = rng.uniform(-translation_mm, translation_mm, size=3)
    linear = scale * rotation_matrix(angles)
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    matrix[:3, 3] = center - linear @ center + shift
    return matrix


def jacobian_determinant(displacement: np.ndarray) -> np.ndarray:
    """det(I + grad u) of a displacement field ``(3, X, Y, Z)`` in voxel units.

    Positive everywhere means the map ``x -> x + u(x)`` does not fold.
    """
    grads = np.stack([np.stack(np.gradient(displacement[i]), axis=0) for i in range(3)])  # (3, 3, ...)
    jac = grads + np.eye(3).reshape(3, 3, 1, 1, 1)
    return np.linalg.det(np.moveaxis(jac, (0, 1), (-2, -1)))
