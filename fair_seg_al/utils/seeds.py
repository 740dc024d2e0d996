"""Independent seeds derived from a run's seed, one stream per purpose."""

from __future__ import annotations

import numpy as np

TRAINING = 1000  #: round r's training order and weight init: key 1000 + r
ESTIMATION = 3000  #: round r's estimator folds and fine-tunes: key 3000 + r


def round_seed(seed: int, round: int, stream: int = TRAINING) -> int:
    """The seed of round ``round`` in ``stream``: the same for the same (seed, round, stream)."""
    return int(np.random.SeedSequence(entropy=seed, spawn_key=(stream + round,)).generate_state(1)[0])
