"""Label-free estimators (issue 34) against hand-worked cases, with fake predictions (no model),
then built from their configs and run once end to end.

The fake volumes are 16 voxels, ``(2, 2, 4)``. A true label is the first 4 voxels. A fake
prediction puts foreground probability ``q`` on the label and on ``m`` more voxels: its hard
prediction has ``4 + m`` voxels (``q > 0.5``), its true Dice is ``8 / (8 + m)`` and its soft-Dice
agreement ``2 q (4 + m) / ((4 + m) + q (4 + m)) = 2 q / (1 + q)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from fair_seg_al.estimation import (
    AgreementEstimator,
    EstimationInputs,
    LabeledImage,
    Prediction,
    QualityRegressorEstimator,
    RCAEstimator,
)
from fair_seg_al.estimation.label_free import (
    fit_dice_regression,
    reverse_classification_dice,
    sample_per_group,
    shifted,
)
from fair_seg_al.metrics import dice_per_case
from tests.conftest import SMOKE
from tests.test_experiment_config import _fails, cfg_with

SHAPE = (2, 2, 4)
LABEL = (torch.arange(16) < 4).reshape(SHAPE)
NAMES = ["agreement", "rca", "quality_regressor"]


def probs_of(foreground: torch.Tensor) -> torch.Tensor:
    """``(2, X, Y, Z)`` softmax probabilities from a foreground probability map."""
    return torch.stack([1 - foreground, foreground]).float()


def prediction(q: float, m: int) -> torch.Tensor:
    """Probability ``q`` on the label's 4 voxels and on the ``m`` voxels after them."""
    return probs_of(((torch.arange(16) < 4 + m) * q).reshape(SHAPE))


PERFECT = probs_of(LABEL.float())  # exactly 0/1, equal to the label
EMPTY = probs_of(0.4 * LABEL.float())  # nothing above 0.5: the hard prediction is empty


class TestSetSentinel:
    """Raises on any read: a label-free estimator never touches the test set."""

    def _fail(self, *args):
        raise AssertionError("a label-free estimator read the test set")

    __iter__ = __len__ = __getitem__ = __array__ = __bool__ = _fail


def fake_inputs(pool: dict, labeled: dict, **kw) -> EstimationInputs:
    """``pool``: id -> probs; ``labeled``: id -> (probs, label). Group = the id's first letter.

    ``dice`` and ``labeled_images`` refuse pool ids (as the callback's do), so a test passes only
    if the estimator never asks for a pool image's label.
    """
    probs = {**pool, **{s: p for s, (p, _) in labeled.items()}}
    image = {s: torch.arange(16, dtype=torch.float).reshape(SHAPE) for s in probs}

    def only_labeled(ids):
        if any(s not in labeled for s in ids):
            raise AssertionError(f"a label-free estimator asked for the label of pool images {ids}")
        return ids

    def dice(ids):
        ids = only_labeled(ids)
        hard = torch.stack([labeled[s][0][1] > 0.5 for s in ids])
        return dice_per_case(hard, torch.stack([labeled[s][1] for s in ids])).numpy()

    return EstimationInputs(
        round=1,
        groups=["A", "B"],
        group_of=lambda s: s[0].upper(),
        train_ids=list(labeled),
        held_out_ids=[],
        dice=dice,
        seed=0,
        test_groups=TestSetSentinel(),
        test_dice=TestSetSentinel(),
        pool_ids=list(pool),
        predict=lambda ids: (Prediction(s, image[s], probs[s]) for s in ids),
        labeled_images=lambda ids: (LabeledImage(s, image[s], labeled[s][1]) for s in only_labeled(ids)),
        pass_masks=kw.pop("pass_masks", None),
        **kw,
    )


def estimates(est, inputs) -> dict[str, float]:
    return {g: e.estimate for g, e in est.estimate(inputs).items()}


#: labeled images whose true Dice is 2 * agreement - 1 exactly: m extra voxels, q = s / (2 - s)
#: with s = (D + 1) / 2 the agreement and D = 8 / (8 + m) the true Dice
LINEAR = {}
for _m in range(5):
    _d = 8 / (8 + _m)
    _s = (_d + 1) / 2
    LINEAR[f"a_lab{_m}"] = (prediction(_s / (2 - _s), _m), LABEL)


# ------------------------------------------------------------------ the fake cases are what they claim
def test_the_linear_cases_by_hand():
    inputs = fake_inputs({}, LINEAR)
    ids = list(LINEAR)
    true = inputs.dice(ids)
    np.testing.assert_allclose(true, [1, 8 / 9, 0.8, 8 / 11, 2 / 3])
    agreement = AgreementEstimator().agreement(ids, inputs)
    np.testing.assert_allclose(true, 2 * agreement - 1, atol=1e-6)


# ------------------------------------------------------------------ a perfect prediction
def test_a_perfect_prediction_is_predicted_perfect_by_all_three():
    pool = {"a1": PERFECT, "a2": PERFECT, "b1": PERFECT}
    inputs = fake_inputs(pool, {"a_lab": (PERFECT, LABEL), "b_lab": (PERFECT, LABEL), **LINEAR})
    assert estimates(AgreementEstimator(small_groups="none"), inputs) == {"A": 1.0, "B": 1.0}
    assert estimates(RCAEstimator(small_groups="none"), inputs) == {"A": 1.0, "B": 1.0}
    # the regressor on its one feature: Dice = 2 * agreement - 1 on the labeled images, exactly
    qr = QualityRegressorEstimator(features=["soft_dice"], ridge=0.0, small_groups="none")
    assert estimates(qr, inputs) == pytest.approx({"A": 1.0, "B": 1.0})
    assert qr.last_fit.loo_mae == pytest.approx(0.0, abs=1e-6)  # float32 probabilities
    assert (qr.last_fit.intercept + qr.last_fit.coef[0] * (0 - qr.last_fit.center[0]) / qr.last_fit.scale[0]) == (
        pytest.approx(-1.0)
    )


def test_agreement_between_identical_passes_is_one():
    masks = {s: LABEL[None].expand(3, *SHAPE) for s in ("a1", "b1")}
    inputs = fake_inputs(
        {"a1": PERFECT, "b1": PERFECT}, {}, pass_masks=lambda ids, method, passes, seed: ((s, masks[s]) for s in ids)
    )
    assert estimates(AgreementEstimator(method="tta", small_groups="none"), inputs) == {"A": 1.0, "B": 1.0}


# ------------------------------------------------------------------ a prediction empty for one group
def test_an_empty_prediction_for_group_b_gives_b_the_lowest_estimate():
    # A: perfect, and one at q = 0.8 with 4 extra voxels (agreement 2 * 0.8 / 1.8 = 8/9, true Dice 2/3)
    pool = {"a1": PERFECT, "a2": prediction(0.8, 4), "b1": EMPTY, "b2": EMPTY}
    inputs = fake_inputs(pool, LINEAR)
    agreement = estimates(AgreementEstimator(small_groups="none"), inputs)
    assert agreement == pytest.approx({"A": (1 + 8 / 9) / 2, "B": 0.0})
    # RCA: a1 matches the reference label (1); a2 overlaps it 4 of 8 + 4 voxels (2 * 4 / 12); b: nothing
    rca = estimates(RCAEstimator(small_groups="none"), inputs)
    assert rca == pytest.approx({"A": (1 + 8 / 12) / 2, "B": 0.0})
    # the regressor learned Dice = 2 s - 1: A (1 + 7/9) / 2; B's agreement 0 gives -1, clipped to 0
    qr = estimates(QualityRegressorEstimator(features=["soft_dice"], ridge=0.0, small_groups="none"), inputs)
    assert qr == pytest.approx({"A": (1 + 7 / 9) / 2, "B": 0.0})
    # the default features and penalty: B still lowest
    default = estimates(QualityRegressorEstimator(small_groups="none"), inputs)
    assert default["B"] < default["A"] and all(0 <= v <= 1 for v in default.values())


def test_calibrated_agreement_follows_the_fitted_line():
    pool = {"a1": prediction(9 / 11, 0), "b1": EMPTY}  # agreement 2 (9/11) / (20/11) = 0.9
    est = AgreementEstimator(calibrate=True, small_groups="none")
    assert estimates(est, fake_inputs(pool, LINEAR)) == pytest.approx({"A": 0.8, "B": 0.0})
    assert est.last_fit.loo_mae == pytest.approx(0.0, abs=1e-6)  # float32 probabilities


def test_rca_registration_by_translation_recovers_a_shifted_atlas():
    image = torch.randn(8, 8, 8, generator=torch.Generator().manual_seed(0))
    label = torch.zeros(8, 8, 8, dtype=torch.bool)
    label[3:5, 3:6, 2:5] = True
    moved_image, moved_label = shifted(image, (1, 0, -1)), shifted(label, (1, 0, -1))
    refs_image, refs_label = image[None], label[None]
    # unregistered, the 2 x 3 x 3 masks overlap 1 x 3 x 2 = 6 voxels: 2 * 6 / 36; registered, exactly
    assert reverse_classification_dice(moved_image, moved_label, refs_image, refs_label) == pytest.approx(1 / 3)
    assert reverse_classification_dice(moved_image, moved_label, refs_image, refs_label, max_shift=1) == 1.0


# ------------------------------------------------------------------ what they read
@pytest.mark.parametrize("est", [AgreementEstimator(), RCAEstimator(), QualityRegressorEstimator()], ids=NAMES)
def test_they_read_the_pool_never_the_test_set_nor_a_pool_label(est):
    inputs = fake_inputs({"a1": PERFECT, "b1": EMPTY}, LINEAR)  # the sentinels raise on any read
    assert not est.is_oracle
    out = est.estimate(inputs)
    assert out["A"].n_images == 1 and out["B"].n_images == 1  # one pool image each, not the labeled ones
    inputs.test_dice = inputs.test_groups = None
    assert est.estimate(inputs)["A"].estimate == out["A"].estimate


def test_the_callback_gives_the_pool_and_refuses_the_labels_of_unlabeled_images(monkeypatch, tmp_path):
    from fair_seg_al.al.callback import AcquisitionCallback
    from fair_seg_al.al.evaluation import Evaluation
    from fair_seg_al.al.spec import ALSettings, RunSpec
    from fair_seg_al.strategies import RandomStrategy
    from tests.test_estimation import FAKE_DICE, GROUP, fake_datamodule

    pool, dm = fake_datamodule(monkeypatch)
    cb = AcquisitionCallback(RunSpec(dm, RandomStrategy(), ALSettings(budget=4, rounds=2), 0, tmp_path))
    pool.label(["a0", "b0"], 0)
    inputs = cb.inputs(object(), Evaluation(row={}))
    assert inputs.pool_ids == [s for s in GROUP if s not in ("a0", "b0")]
    assert inputs.dice(["a0"]) == pytest.approx([FAKE_DICE["a0"]])
    with pytest.raises(PermissionError, match=r"unlabeled images \['a1'\]"):
        inputs.dice(["a0", "a1"])
    with pytest.raises(PermissionError, match=r"unlabeled images \['b1'\]"):
        inputs.labeled_images(["b1"])


def test_missing_inputs_are_named():
    inputs = fake_inputs({"a1": PERFECT}, LINEAR)
    inputs.predict = None
    with pytest.raises(RuntimeError, match=r"EstimationInputs\.predict"):
        RCAEstimator().estimate(inputs)
    with pytest.raises(RuntimeError, match=r"EstimationInputs\.pass_masks"):
        AgreementEstimator(method="mc_dropout").estimate(fake_inputs({"a1": PERFECT}, {}))


def test_the_pool_sample_is_per_group_seeded_and_in_order():
    ids = [f"a{i}" for i in range(10)] + ["b0", "b1"]
    group_of = lambda s: s[0].upper()  # noqa: E731
    one = sample_per_group(ids, group_of, ["A", "B"], 3, seed=5)
    assert one == sample_per_group(ids, group_of, ["A", "B"], 3, seed=5)
    assert sum(s.startswith("a") for s in one) == 3 and one[-2:] == ["b0", "b1"]
    assert one == [s for s in ids if s in one]


def test_fit_reports_leave_one_out_error():
    x = np.array([[0.0], [1.0], [2.0]])
    fit = fit_dice_regression(x, np.array([0.0, 0.5, 0.6]), ridge=0.0)
    # leaving out x=2: the line through (0, 0), (1, 0.5) says 1.0 (error 0.4); x=1: 0.3 (-0.2); x=0: 0.4 (0.4)
    assert fit.loo_mae == pytest.approx((0.4 + 0.2 + 0.4) / 3)


# ------------------------------------------------------------------ configs
@pytest.mark.parametrize("name", NAMES)
def test_each_config_composes_and_builds(name):
    from fair_seg_al.experiment import validate

    est = validate(cfg_with("strategy=weighted_entropy", f"strategy/estimator={name}")).strategy.estimator
    assert est.name == name and not est.is_oracle and est.max_pool_images == 64


@pytest.mark.parametrize(
    ("name", "override", "message"),
    [
        ("agreement", "method=guess", r"method must be one of"),
        ("agreement", "passes=1", r"passes must be >= 2"),
        ("rca", "registration=affine", r"registration must be one of"),
        ("rca", "max_references=0", r"max_references must be >= 1"),
        ("quality_regressor", "features=[volume,colour]", r"features must be a non-empty list"),
        ("quality_regressor", "max_pool_images=0", r"max_pool_images must be >= 1"),
    ],
)
def test_bad_options_name_their_key_and_file(name, override, message):
    where = rf"{message}.*conf/strategy/estimator/{name}\.yaml"  # the constructor's message, then the file
    _fails(where, "strategy=weighted_entropy", f"strategy/estimator={name}", f"strategy.estimator.{override}")


# ------------------------------------------------------------------ end to end
@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n == "agreement" else pytest.mark.slow) for n in NAMES])
def test_one_round_with_each_as_the_selection_and_the_others_as_probes(tmp_path, run_experiment, name):
    """A tiny run selecting with ``name``; the other two, and agreement between TTA passes (MC
    dropout in the slow runs), ride along as benchmark probes, as in the estimator benchmark."""
    passes = "tta" if name == "agreement" else "mc_dropout"
    probes = [f"+strategy/estimator@estimation.probes.{p}={p}" for p in NAMES if p != name]
    probes += ["+strategy/estimator@estimation.probes.passes=agreement", f"estimation.probes.passes.method={passes}"]
    probes += ["estimation.probes.passes.passes=2", *(["model.net.dropout=0.1"] if passes == "mc_dropout" else [])]
    run = tmp_path / name
    run_experiment(run, *SMOKE, "al.rounds=1", "strategy=weighted_entropy", f"strategy/estimator={name}", *probes)
    rows = pd.read_csv(run / "estimates.csv")
    assert set(rows["estimator"]) == {*NAMES, "passes"} and set(rows["round"]) == {0, 1}
    assert set(rows.loc[rows["estimator"] == name, "role"]) == {"select"}
    assert (rows["n_images"] == rows["pool_images"]).all()  # every pool image (fewer than 64 per group)
    assert rows["measurable"].all() and rows["estimate"].between(0, 1).all()


@pytest.mark.slow  # reads the 50 runs of the re-scored benchmark (about 8 s)
def test_the_label_free_plan_quotes_the_pilot_sds_and_the_runs_they_need():
    # docs/plans/label_free_estimators.md sizes the benchmark from the re-scored benchmark's
    # paired SDs (estimator minus constant, per-run log weight-ratio error); recomputed here
    from pathlib import Path

    import pandas as pd

    from fair_seg_al.analysis.estimators import load, pool_scores
    from fair_seg_al.analysis.planner import seeds_to_resolve

    docs = Path(__file__).resolve().parents[1] / "docs"
    scores = pool_scores(load(docs / "estimators" / "pool" / "runs")[0])
    pooled = scores[(scores["bias"] == "all") & (scores["init"] == "all")]
    text = " ".join((docs / "plans" / "label_free_estimators.md").read_text().split())
    quoted = {
        "masked_entropy": ("oracle", "prequential", "kfold_scratch"),
        "random": ("oracle", "prequential", "holdout"),
    }
    for arm, names in quoted.items():
        a = pooled[pooled["arm"] == arm].set_index("estimator")
        const = pd.Series(a.loc["constant (reference)", "per_run_lr_err"])
        sds = [float((pd.Series(a.loc[n, "per_run_lr_err"]) - const).std(ddof=1)) for n in names]
        assert ", ".join(f"{sd:.3f}" for sd in sds[:2]) + f" and {sds[2]:.3f}" in text
        runs = [seeds_to_resolve(sd, 0.05, 12) for sd in sds]
        assert f"{runs[0]}, {runs[1]} and {runs[2]}" in text


def test_the_development_rule_takes_the_lowest_error_or_a_cheaper_setting_within_the_tie():
    import pandas as pd
    from label_free_dev_report import choose  # sweeps/ (pytest pythonpath)

    table = pd.DataFrame(
        {
            "lr_err": [0.100, 0.080, 0.083, 0.20, 0.10, 0.05, 0.06],
            "seconds": [0.5, 9.0, 0.6, 1.0, 11.0, 5.0, 5.0],
        },
        index=["agreement", "agreement_tta", "agreement_calibrated", "rca", "rca_translation",
               "quality_regressor", "quality_regressor_ridge10"],
    )  # fmt: skip
    # agreement_tta is lowest (0.080); agreement_calibrated is within 0.005 and cheaper; rca_translation
    # wins by 0.10 (beyond the tie); the regressor's ridge 10 is 0.01 worse: ridge 1
    assert choose(table) == {
        "agreement": "agreement_calibrated",
        "rca": "rca_translation",
        "quality_regressor": "quality_regressor",
    }
