"""Group weights from estimated group performance (the worse a group, the larger its weight).

Forms (mean weight 1 over the groups):

- ``one_minus_dice``: ``w_g = (1 - d_g) / mean_h (1 - d_h)`` (the paper's reading);
- ``softmax``: ``w_g = G * softmax_g(-d_g / temperature)``.

Then a floor: ``w_g <- floor + (1 - floor) * w_g``. It keeps the mean at 1 and gives every
group at least ``floor``: a group that is fit perfectly on the images it is measured on
(weight 0 with ``one_minus_dice``) can still be acquired. ``floor=0`` is the bare form.

A group whose performance could not be estimated (NaN) gets the neutral weight 1, and the
other groups are weighted among themselves; the estimates file says which group it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

WEIGHT_FORMS = ("one_minus_dice", "softmax")


def group_weights(
    estimates: Mapping[str, float], form: str = "one_minus_dice", temperature: float = 0.1, floor: float = 0.0
) -> dict[str, float]:
    """Weights per group from performance estimates ``d_g`` in [0, 1] (NaN: unmeasured).

    >>> group_weights({"A": 0.9, "B": 0.7})
    {'A': 0.5, 'B': 1.5}
    >>> group_weights({"A": 1.0, "B": 0.8}, floor=0.1)
    {'A': 0.1, 'B': 1.9}
    """
    if form not in WEIGHT_FORMS:
        raise ValueError(f"weight_form must be one of {WEIGHT_FORMS}, got {form!r}")
    if not 0 <= floor <= 1:
        raise ValueError(f"weight_floor must be in [0, 1], got {floor}")
    names = list(estimates)
    d = np.array([estimates[g] for g in names], dtype=float)
    known = ~np.isnan(d)
    w = np.ones(len(names))
    if known.sum() >= 1:
        dk = d[known]
        if form == "one_minus_dice":
            err = np.clip(1.0 - dk, 0.0, None)
            wk = err / err.mean() if err.mean() > 0 else np.ones_like(err)
        else:
            z = -dk / temperature
            wk = np.exp(z - z.max())
            wk = len(wk) * wk / wk.sum()
        w[known] = floor + (1.0 - floor) * wk
    return {g: round(float(v), 12) for g, v in zip(names, w, strict=True)}


class GroupWeighting:
    """Mixin for strategies that multiply each image's score by its group's weight.

    The weights come from ``estimator``'s per-group performance estimates through
    :func:`group_weights`. Without an estimator every weight is 1 (an unweighted strategy).
    """

    estimator = None
    weight_form, temperature, weight_floor = "one_minus_dice", 0.1, 0.1

    def init_weighting(self, weight_form: str, temperature: float, weight_floor: float, estimator) -> None:
        if weight_form not in WEIGHT_FORMS:
            raise ValueError(f"weight_form must be one of {WEIGHT_FORMS}, got {weight_form!r}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if not 0 <= weight_floor <= 1:
            raise ValueError(f"weight_floor must be in [0, 1], got {weight_floor}")
        self.weight_form, self.temperature, self.weight_floor = weight_form, temperature, weight_floor
        self.estimator = estimator

    def group_weights(self, ctx) -> dict[str, float] | None:
        if self.estimator is None or ctx.group_performance is None:
            return None
        return group_weights(ctx.group_performance, self.weight_form, self.temperature, self.weight_floor)

    def image_weights(self, groups: Sequence[str], ctx) -> np.ndarray:
        if self.estimator is None:
            return np.ones(len(groups))
        weights = self.group_weights(ctx)
        if weights is None:
            raise ValueError(f"{self.name} needs its estimator's per-group performance")
        return np.array([weights.get(g, 1.0) for g in groups])
