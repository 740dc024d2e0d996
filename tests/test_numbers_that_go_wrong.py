"""A diverged run fails loudly, naming the round and the images, instead of looking like a poor run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fair_seg_al.model import SegmentationModule


def test_non_finite_pool_scores_stop_the_run_naming_round_and_images(monkeypatch, tmp_path):
    import fair_seg_al.al.callback as callback
    from fair_seg_al.experiment import run
    from tests.test_experiment_config import cfg_with

    real = callback.score_images

    def nan_for_two(module, loader, strategy):
        ids, scores = real(module, loader, strategy)
        scores[:2] = np.nan  # e.g. NaN probabilities from a diverged network
        return ids, scores

    monkeypatch.setattr(callback, "score_images", nan_for_two)
    cfg = cfg_with(
        "experiment=smoke", "strategy=entropy", "trainer.max_steps=2", f"paths.cohort_cache_dir={tmp_path / 'c'}"
    )
    with pytest.raises(FloatingPointError, match=r"round 0: the entropy score is not finite for 2 of \d+ pool images"):
        run(cfg, tmp_path / "run")


def test_a_non_finite_training_loss_raises():
    net = torch.nn.Conv3d(1, 2, 1)
    module = SegmentationModule(net, lambda logits, y: logits.sum() * float("nan"), torch.optim.SGD)
    batch = {"image": torch.ones(1, 1, 2, 2, 2), "label": torch.zeros(1, 1, 2, 2, 2, dtype=torch.long), "id": ["s1"]}
    with pytest.raises(FloatingPointError, match=r"training loss is nan at step 0 \(images \['s1'\]\)"):
        module.training_step(batch, 0)
