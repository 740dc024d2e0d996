"""Scoring group-performance estimators: how well does each track the test Dice it stands in
for, and what does it cost? Reads any runs that record ``estimates.csv`` (``estimation.probes``).

- :func:`collect` archives a sweep's finished runs (:mod:`fair_seg_al.analysis.archive`: the
  small files every number rests on, in the layout every report reads), one folder per run named
  by :func:`run_name`;
- :func:`load` reads archived runs' estimates and rounds; :func:`summarise` scores each estimator
  against the test Dice per arm and cell (right side of the gap, log weight-ratio error, bias per
  group, cost), with :func:`constant_reference`, a guess that knows no model, beside them;
  :func:`paired` sets each against a reference estimator run by run;
- :func:`pool_scores` scores them against the pool truth (every unlabeled image's Dice), paired
  per run against the constant guess.

This project's benchmark (tables, figures and decision rule) is built from these by
``python benchmarks/estimator_benchmark.py`` (``sweeps/studies/estimators.py``, not installed).
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from fair_seg_al.analysis.archive import archive_sweep
from fair_seg_al.analysis.runs import ReportError, find_runs
from fair_seg_al.analysis.stats import bootstrap_ci
from fair_seg_al.run_identity import strategy_label

# 95 % percentile bootstrap over runs (points within a run are not independent)
run_ci = partial(bootstrap_ci, n_boot=2000, seed=0)


def run_name(run: Path) -> str:
    """An archived run's folder name: the run's own keys (a sweep's folder names carry job numbers)."""
    cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
    return f"{strategy_label(cfg.strategy)}-{cfg.bias.name}-{cfg.init.name}-seed{cfg.seed}"


def collect(sweep: Path, raw: Path) -> int:
    """Archive each finished run's raw files into ``raw/<run name>/`` (:func:`archive_sweep`); return how many."""
    result = archive_sweep(sweep, raw, folder_name=run_name)
    for run, why in result.skipped.items():
        print(f"skipping {run}: {why}", file=sys.stderr)
    print(f"collected {len(result.copied)} runs into {raw} ({len(result.unchanged)} unchanged)")
    return len(result.copied)


ORDER = ["train", "holdout", "prequential", "kfold", "kfold_scratch", "oracle"]


def ordered(names) -> list[str]:
    """Estimator names present, the known ones in :data:`ORDER` first."""
    present = set(names)
    return [n for n in ORDER if n in present] + sorted(present - set(ORDER))


def load(raw: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All runs' estimates (one row per run x round x estimator x group) and rounds."""
    est, rounds = [], []
    try:
        runs = find_runs([raw])
    except ReportError as err:
        raise SystemExit(str(err)) from None
    for run in runs:
        e = run.table("estimates.csv")
        if e is None or e.empty or run.rounds is None or run.selections is None:
            continue
        e = e.rename(columns={"raw": "raw_estimate"})  # runs made before 2026-12-04 say "raw"
        keys = {
            "arm": str(run.config.strategy.name),
            "bias": run.bias,
            "init": run.init,
            "seed": run.seed,
            "run": run.path.name,
        }
        sel, r = run.selections, run.rounds.copy()
        # labels the hold-out rule kept out of training by the end of each round (its cost)
        r["held_out_labels"] = [int((sel["held_out"] & (sel["round"] <= k)).sum()) for k in r["round"]]
        est.append(e.assign(**keys))
        rounds.append(r.assign(**keys))
    if not est:
        raise SystemExit(f"no estimates.csv under {raw}")
    return pd.concat(est, ignore_index=True), pd.concat(rounds, ignore_index=True)


def log_weight_ratio(d_a: float, d_b: float) -> float:
    """``log(w_B / w_A)`` of the default weights (``one_minus_dice``, floor 0.1) from Dice
    estimates: what the selection actually consumes (NaN estimates give the neutral weight)."""
    return float(log_weight_ratios(d_a, d_b))


def log_weight_ratios(d_a, d_b, floor: float = 0.1) -> np.ndarray:
    """:func:`log_weight_ratio` over arrays (two groups, broadcast): the same weights as
    :func:`~fair_seg_al.strategies.weights.group_weights` with ``one_minus_dice``, vectorised; a NaN estimate is
    unmeasured and gives the neutral ratio, as there. By hand: Dice 0.9 / 0.7, errors 0.1 / 0.3,
    weights 0.1 + 0.9 * (0.5, 1.5) = 0.55 / 1.45, log(1.45 / 0.55) = 0.9694.

    >>> log_weight_ratios([0.9, 1.0, np.nan], [0.7, 1.0, 0.5]).round(4).tolist()
    [0.9694, 0.0, 0.0]
    """
    a, b = np.broadcast_arrays(np.asarray(d_a, dtype=float), np.asarray(d_b, dtype=float))
    ea, eb = np.clip(1.0 - a, 0.0, None), np.clip(1.0 - b, 0.0, None)
    mean = (ea + eb) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        wa = np.where(mean > 0, floor + (1 - floor) * ea / mean, 1.0)
        wb = np.where(mean > 0, floor + (1 - floor) * eb / mean, 1.0)
        lr = np.log(wb / wa)
    return np.where(np.isnan(a) | np.isnan(b), 0.0, lr)


#: Two estimators that are simulated from the recorded pool truth, not run: unbiased, with the
#: sampling noise of each group's labeled images (the best an estimator reading only them could
#: do), and with only the pool mean's own noise (an estimator that knew each pool group's Dice:
#: the scale's ceiling).
IDEAL_SAMPLE = "ideal: labeled-sample noise (simulated)"
IDEAL_POOL = "ideal: knew the pool Dice (simulated ceiling)"
IDEALS = (IDEAL_SAMPLE, IDEAL_POOL)


def ideal_errors(est: pd.DataFrame, rounds: pd.DataFrame, draws: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """Per run x round, the expected log weight-ratio and batch-composition errors (against the
    pool truth) of the two :data:`IDEALS`, each an unbiased Normal estimate of each group's pool
    Dice: with SD ``sd_g / sqrt(n_labeled_g)`` (``sd_g`` the per-image SD of the pool,
    ``pool_dice_se * sqrt(pool_images)``; no labeled image: unmeasured) and with SD
    ``pool_dice_se``. Empty unless the runs record the pool truth of two groups A and B."""
    keys = ["arm", "bias", "init", "seed", "run", "round"]
    cols = ["pool_dice", "pool_dice_se", "pool_images"]
    labeled = ["n_labeled_A", "n_labeled_B"]
    if not set(cols) <= set(est) or set(est["group"].unique()) != {"A", "B"} or not set(labeled) <= set(rounds):
        return pd.DataFrame(columns=[*keys, "estimator", "lr_err", "comp_err"])
    # every estimator's row carries the same pool truth; a round without it (or without its SE) has no ideal
    truth = est.dropna(subset=cols).drop_duplicates([*keys, "group"])
    wide = truth.pivot_table(index=keys, columns="group", values=cols).dropna()
    n = rounds.set_index(keys)[labeled].reindex(wide.index).to_numpy(dtype=float)
    d = np.stack([wide[("pool_dice", g)].to_numpy() for g in "AB"])
    se = np.stack([wide[("pool_dice_se", g)].to_numpy() for g in "AB"])
    sd = se * np.sqrt(np.stack([wide[("pool_images", g)].to_numpy() for g in "AB"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        sample_sd = sd / np.sqrt(n.T)  # inf or NaN where a group has no labeled image: unmeasured below
    true = log_weight_ratios(d[0], d[1])
    rng = np.random.default_rng(seed)
    out = []
    for name, noise in ((IDEAL_SAMPLE, sample_sd), (IDEAL_POOL, se)):
        lr_err, comp_err, left = np.zeros(len(true)), np.zeros(len(true)), draws
        while left:  # in blocks, to bound memory
            k = min(left, 1000)
            draw = d[:, None, :] + rng.standard_normal((2, k, len(true))) * noise[:, None, :]
            draw[~np.isfinite(draw)] = np.nan
            lr = log_weight_ratios(draw[0], draw[1])
            lr_err += np.abs(lr - true).sum(0)
            comp_err += np.abs(quota_b(lr) - quota_b(true)).sum(0)
            left -= k
        out.append(
            wide.index.to_frame(index=False).assign(estimator=name, lr_err=lr_err / draws, comp_err=comp_err / draws)
        )
    return pd.concat(out, ignore_index=True)


def gaps(est: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per run x round x estimator: estimated and true A-B gap, and the log weight
    ratio the estimates give against the one the test Dice would give (two-group cohorts)."""
    wide = est.pivot_table(
        index=["arm", "bias", "init", "seed", "run", "round", "estimator"],
        columns="group",
        values=[column, "test_dice"],
        dropna=False,
    )
    ea, eb = wide[(column, "A")], wide[(column, "B")]
    ta, tb = wide[("test_dice", "A")], wide[("test_dice", "B")]
    out = pd.DataFrame(
        {
            "est_gap": ea - eb,
            "test_gap": ta - tb,
            "est_lr": log_weight_ratios(ea, eb),
            "test_lr": log_weight_ratios(ta, tb),
        }
    ).reset_index()
    return out.dropna(subset=["test_gap"])


def in_cell(df: pd.DataFrame, bias: str, init: str) -> pd.DataFrame:
    """Rows of one bias x init cell; ``"all"`` pools over that key."""
    return df[((df["bias"] == bias) | (bias == "all")) & ((df["init"] == init) | (init == "all"))]


def cells_of(df: pd.DataFrame) -> list[tuple[str, str]]:
    """Everything pooled, each bias pooled over starts (when there are several biases), each cell."""
    cells = sorted({(b, i) for b, i in zip(df["bias"], df["init"], strict=True)})
    biases = sorted({b for b, _ in cells})
    return [("all", "all")] + ([(b, "all") for b in biases] if len(biases) > 1 else []) + cells


def summarise(est: pd.DataFrame, rounds: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for arm in sorted(est["arm"].unique()):
        est_arm, rounds_arm = est[est["arm"] == arm], rounds[rounds["arm"] == arm]
        for column, rule in (("estimate", "shrink"), ("raw_estimate", "raw")):
            g_all = gaps(est_arm, column)
            for bias, init in cells_of(est_arm):
                g, e, r = in_cell(g_all, bias, init), in_cell(est_arm, bias, init), in_cell(rounds_arm, bias, init)
                for name in ordered(g["estimator"]):
                    if rule == "raw" and name == "oracle":
                        continue
                    d = g[g["estimator"] == name]
                    ok = d.dropna(subset=["est_gap"])
                    right = ((d["est_gap"] > 0) == (d["test_gap"] > 0)) & (d["est_gap"] != 0) & d["est_gap"].notna()
                    pos = d["test_gap"] > 0
                    lr_err = (d["est_lr"] - d["test_lr"]).abs().groupby(d["run"]).mean()
                    lr_lo, lr_hi = run_ci(lr_err.to_numpy())
                    row = {
                        "arm": arm,
                        "bias": bias,
                        "init": init,
                        "estimator": name,
                        "rule": rule,
                        "points": len(d),
                        "unmeasured_points": int(d["est_gap"].isna().sum()),
                        "gap_corr": float(np.corrcoef(ok["est_gap"], ok["test_gap"])[0, 1]) if len(ok) > 2 else np.nan,
                        "right_side": float(right.mean()),
                        "right_side_balanced": 0.5 * (right[pos].mean() + right[~pos].mean())
                        if (~pos).any() and pos.any()
                        else np.nan,
                        "negative_gap_points": int((~pos).sum()),
                        "gap_mae": float((ok["est_gap"] - ok["test_gap"]).abs().mean()),
                        "logratio_mae": float(lr_err.mean()),
                        "logratio_mae_lo": lr_lo,
                        "logratio_mae_hi": lr_hi,
                    }
                    ee = e[e["estimator"] == name]
                    for grp in sorted(ee["group"].unique()):
                        eg = ee[ee["group"] == grp]
                        err = (eg[column] - eg["test_dice"]).groupby(eg["run"]).mean()
                        lo, hi = run_ci(err.to_numpy())
                        row[f"bias_{grp}"] = float(err.mean())
                        row[f"bias_{grp}_lo"], row[f"bias_{grp}_hi"] = lo, hi
                        row[f"n_images_{grp}"] = float(eg["n_images"].mean())
                    per_round = ee.drop_duplicates(["run", "round"])["seconds"]
                    seconds = float(per_round.mean())
                    if name == "prequential" and "seconds_observe" in r:
                        seconds += float(r["seconds_observe"].fillna(0).mean())  # its forward pass on each batch
                    row["seconds_per_round"] = seconds
                    row["extra_labels_final"] = (
                        float(r.loc[r["round"] == r["round"].max(), "held_out_labels"].mean())
                        if name == "holdout"
                        else 0.0
                    )
                    rows.append(row)
                if rule == "shrink":
                    rows.append(constant_reference(g[g["estimator"] == "oracle"], arm, bias, init))
    return pd.DataFrame(rows)


def constant_reference(truth: pd.DataFrame, arm: str, bias: str, init: str) -> dict:
    """A guess that knows no model: "B is worse" by the average true weight ratio.

    Its right-side share is the share of points whose true gap is positive, and its log-ratio
    error is the spread of the true ratio around its mean: an estimator has to beat both to
    carry information about the current model.
    """
    pos = truth["test_gap"] > 0
    lr_err = (truth["test_lr"] - truth["test_lr"].mean()).abs().groupby(truth["run"]).mean()
    lo, hi = run_ci(lr_err.to_numpy())
    return {
        "arm": arm,
        "bias": bias,
        "init": init,
        "estimator": "constant (reference)",
        "rule": "-",
        "points": len(truth),
        "unmeasured_points": 0,
        "gap_corr": np.nan,
        "right_side": float(pos.mean()),
        "right_side_balanced": 0.5 if pos.any() and (~pos).any() else np.nan,
        "negative_gap_points": int((~pos).sum()),
        "gap_mae": np.nan,
        "logratio_mae": float(lr_err.mean()),
        "logratio_mae_lo": lo,
        "logratio_mae_hi": hi,
        "seconds_per_round": 0.0,
        "extra_labels_final": 0.0,
    }


def paired(est: pd.DataFrame, reference: str = "holdout") -> pd.DataFrame:
    """Per arm and estimator: the per-run mean log weight-ratio error minus the reference
    estimator's on the same run (same models, same rounds), mean and 95 % bootstrap CI over runs."""
    rows = []
    for arm in sorted(est["arm"].unique()):
        g = gaps(est[est["arm"] == arm], "estimate")
        g["err"] = (g["est_lr"] - g["test_lr"]).abs()
        per_run = g.pivot_table(index=["bias", "init", "seed"], columns="estimator", values="err", aggfunc="mean")
        if reference not in per_run:
            continue
        for name in ordered(per_run.columns):
            if name in (reference, "oracle"):
                continue
            diff = (per_run[name] - per_run[reference]).dropna()
            lo, hi = run_ci(diff.to_numpy())
            rows.append(
                {
                    "arm": arm,
                    "estimator": name,
                    "reference": reference,
                    "runs": len(diff),
                    "logratio_err_diff": float(diff.mean()),
                    "lo": lo,
                    "hi": hi,
                    "runs_better": int((diff < 0).sum()),
                }
            )
    return pd.DataFrame(rows)


BUDGET = 10  #: a round's batch, for the composition error


def quota_b(lr: np.ndarray) -> np.ndarray:
    """Group B's images in a batch of ``BUDGET`` under quota composition, from ``log(w_B/w_A)``:
    ``BUDGET * w_B / (w_A + w_B)`` (the share before rounding to whole images)."""
    return BUDGET / (1.0 + np.exp(-np.asarray(lr, dtype=float)))


def pool_truth_gaps(est: pd.DataFrame) -> pd.DataFrame:
    """Per run x round x estimator: the estimated log weight ratio against the one the *pool* Dice
    gives (every unlabeled image, ``pool_dice``), the pool gap and its standard error."""
    wide = est.pivot_table(
        index=["arm", "bias", "init", "seed", "run", "round", "estimator"],
        columns="group",
        values=["estimate", "pool_dice", "pool_dice_se"],
        dropna=False,
    )
    ea, eb = wide[("estimate", "A")], wide[("estimate", "B")]
    pa, pb = wide[("pool_dice", "A")], wide[("pool_dice", "B")]
    out = pd.DataFrame(
        {
            "est_lr": log_weight_ratios(ea, eb),
            "true_lr": log_weight_ratios(pa, pb),
            "true_gap": pa - pb,
            "est_gap": ea - eb,
            "gap_se": np.sqrt(wide[("pool_dice_se", "A")] ** 2 + wide[("pool_dice_se", "B")] ** 2),
        }
    ).reset_index()
    return out.dropna(subset=["true_gap"])


def pool_scores(est: pd.DataFrame, rounds: pd.DataFrame | None = None) -> pd.DataFrame:
    """The re-scored benchmark (plan of 2026-12-02): per arm x cell (and all cells) x estimator,
    against the pool truth: log weight-ratio error and quota batch-composition error (per-run
    means, 95 % t-interval over runs), paired against the constant guess per run, and the
    right-side share among points whose pool gap exceeds 2 standard errors.

    Two reference rows show where the scale's ends lie: ``constant (reference)``, "B is worse"
    by the mean true ratio of its cell, and ``oracle``, the 20-per-group *test-set* Dice, which
    a perfect test-set estimator could not beat (its error is the test set's own noise).
    With ``rounds``, the two simulated :data:`IDEALS` (:func:`ideal_errors`) show the other end:
    what an unbiased estimator limited to the labeled sample, and one that knew each pool
    group's Dice, would score (their right side is not simulated).
    """
    from fair_seg_al.analysis.stats import t_interval

    g_all = pool_truth_gaps(est[est["rule"] == "shrink"] if "rule" in est else est)
    ideal_all = ideal_errors(est, rounds) if rounds is not None else None
    rows = []
    for arm in sorted(g_all["arm"].unique()):
        ga = g_all[g_all["arm"] == arm]
        for bias, init in cells_of(ga):  # the arm's cells pooled first, then each cell
            g = in_cell(ga, bias, init)
            truth = g[g["estimator"] == "oracle"]
            const = truth.assign(estimator="constant (reference)")
            const["est_lr"] = const.groupby(["bias", "init"])["true_lr"].transform("mean")
            const["est_gap"] = np.sign(const.groupby(["bias", "init"])["true_gap"].transform("mean")) * 1e-9
            both = pd.concat([g, const], ignore_index=True)
            both["lr_err"] = (both["est_lr"] - both["true_lr"]).abs()
            both["comp_err"] = np.abs(quota_b(both["est_lr"]) - quota_b(both["true_lr"]))
            ideals = []
            if ideal_all is not None and len(ideal_all):
                ideal = in_cell(ideal_all[ideal_all["arm"] == arm], bias, init)
                both = pd.concat([both, ideal], ignore_index=True)
                ideals = [n for n in IDEALS if n in set(ideal["estimator"])]
            per_run = both.groupby(["estimator", "run"])[["lr_err", "comp_err"]].mean()
            base = per_run.loc["constant (reference)"]
            for name in [*ordered(g["estimator"]), *ideals, "constant (reference)"]:
                d = both[both["estimator"] == name]
                runs = per_run.loc[name]
                clear = (d["true_gap"].abs() > 2 * d["gap_se"]) & d["gap_se"].notna()
                right = (np.sign(d["est_gap"]) == np.sign(d["true_gap"])) & (d["est_gap"] != 0)
                row = {"arm": arm, "bias": bias, "init": init, "estimator": name, "runs": len(runs), "points": len(d)}
                for m in ("lr_err", "comp_err"):
                    lo, hi, _ = t_interval(runs[m].to_numpy())
                    row |= {m: float(runs[m].mean()), f"{m}_lo": lo, f"{m}_hi": hi}
                diff = (runs["lr_err"] - base["lr_err"].reindex(runs.index)).dropna()
                lo, hi, p = t_interval(diff.to_numpy())
                row |= {"lr_err_vs_constant": float(diff.mean()), "vs_constant_lo": lo, "vs_constant_hi": hi}
                row["per_run_lr_err"] = runs["lr_err"].to_dict()  # for the paired decision (not written)
                row |= {
                    "clear_points": int(clear.sum()),
                    "right_side_clear": float(right[clear].mean()) if clear.any() else np.nan,
                }
                rows.append(row)
    return pd.DataFrame(rows)
