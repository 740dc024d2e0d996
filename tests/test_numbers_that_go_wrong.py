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


class _TinyData:
    """What finetune_dice reads of a DataModule: a sampling loader, a loader and the batch size."""

    batch_size = 1

    @staticmethod
    def _items(ids):
        return [{"image": torch.ones(1, 2, 2, 2), "label": torch.ones(1, 2, 2, 2, dtype=torch.long), "id": i,
                 "group": "A"} for i in ids]  # fmt: skip

    def sampling_loader(self, ids, n, seed):
        return torch.utils.data.DataLoader((self._items(ids) * n)[:n], batch_size=1)

    def loader(self, ids):
        return torch.utils.data.DataLoader(self._items(ids), batch_size=1)


def _tiny_module(loss):
    torch.manual_seed(0)
    return SegmentationModule(torch.nn.Conv3d(1, 2, 1), loss, torch.optim.SGD)


def test_kfold_fine_tunes_train_through_the_modules_own_step_and_nan_guard():
    from fair_seg_al.al.finetune import finetune_dice

    calls = []

    def counted(logits, y):
        calls.append(1)
        return (logits**2).mean()

    module = _tiny_module(counted)
    dice = finetune_dice(module, _TinyData(), lambda: _tiny_module(counted), ["s1", "s2"], ["s3"], 3, seed=0)
    assert len(calls) == 3 and dice.shape == (1,)  # one loss per step, none at evaluation
    diverging = lambda logits, y: logits.sum() * float("nan")  # noqa: E731
    with pytest.raises(FloatingPointError, match=r"training loss is nan at step 0"):
        finetune_dice(module, _TinyData(), lambda: _tiny_module(diverging), ["s1", "s2"], ["s3"], 3, seed=0)
