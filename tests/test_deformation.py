"""Subject warps: exponentiated velocity fields do not fold where raw displacements do."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from fair_seg_al.cohort.deformation import exponentiate, jacobian_determinant, random_affine, rotation_matrix


def test_exponential_of_a_strong_field_stays_invertible():
    rng = np.random.default_rng(0)
    # a rough field: as a plain displacement it folds (negative Jacobian somewhere)
    field = np.stack([np.kron(rng.standard_normal((4, 4, 4)), np.ones((6, 6, 6))) for _ in range(3)]) * 3.0
    field = np.stack([ndimage.gaussian_filter(f, 2.0) for f in field]).astype(np.float32)
    assert jacobian_determinant(field).min() < 0
    ddf = exponentiate(field, steps=7)
    assert jacobian_determinant(ddf).min() > 0


def test_exponential_of_a_constant_field_is_the_same_translation():
    field = np.zeros((3, 12, 12, 12), dtype=np.float32)
    field[0] = 1.5  # 1.5 voxels along axis 0
    ddf = exponentiate(field, steps=5)
    # interior voxels: a constant velocity integrates to the same constant displacement
    assert np.allclose(ddf[0, 3:-3, 3:-3, 3:-3], 1.5, atol=1e-4)
    assert np.allclose(ddf[1:], 0, atol=1e-6)


def test_rotation_is_orthonormal_and_affine_keeps_centre_up_to_shift():
    r = rotation_matrix(np.deg2rad([10.0, -20.0, 30.0]))
    assert np.allclose(r @ r.T, np.eye(3))
    assert np.isclose(np.linalg.det(r), 1.0)
    center = np.array([-18.0, 1.0, 5.0])
    a = random_affine(np.random.default_rng(1), rotation_deg=5, scaling=0.05, translation_mm=0.0, center=center)
    assert np.allclose(a[:3, :3] @ center + a[:3, 3], center)
    scale = np.cbrt(np.linalg.det(a[:3, :3]))
    assert 0.95 <= scale <= 1.05
