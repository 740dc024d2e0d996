"""Recompute, from the committed data, every number that docs/replication.md corrects in the
earlier 3-seed CPU replication (docs/replication/cpu3/summary.csv: every run x round).

    python sweeps/check_cpu_replication.py        # prints each number beside its definition
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fair_seg_al.analysis.stats import area_under_curve

SUMMARY = Path(__file__).resolve().parents[1] / "docs" / "replication" / "cpu3" / "summary.csv"


def main() -> None:
    s = pd.read_csv(SUMMARY)
    final = s[s["round"] == s.groupby("run_dir")["round"].transform("max")]
    disp = final.groupby(["bias", "init", "strategy"])["disparity"].mean()
    paper = ["random", "stratified_random", "entropy", "masked_entropy", "weighted_entropy"]
    print("1. Final disparity (mean of 3 seeds); the least fair of the paper's five strategies per cell:")
    for (bias, init), d in disp.groupby(level=[0, 1]):
        d = d.droplevel([0, 1])[paper]
        print(f"   {bias}/{init}: least fair = {d.idxmax()} ({d.max():.3f}); entropy {d['entropy']:.3f}, "
              f"masked {d['masked_entropy']:.3f}, weighted {d['weighted_entropy']:.3f}")  # fmt: skip
    train_est = s[s["strategy"].isin(["weighted_entropy", "we_softmax"])]
    perf = pd.concat([train_est["perf_A"], train_est["perf_B"]]).dropna()
    print(f"2. Labeled-set Dice of the training-set estimate: {perf.min():.3f}-{perf.max():.3f}, "
          f"{(perf < 0.97).sum()} of {len(perf)} values below 0.97")  # fmt: skip
    d = s[
        (s["strategy"] == "weighted_entropy") & (s["bias"] == "strong") & (s["init"] == "imbalanced") & (s["seed"] == 2)
    ]
    print(f"3. w_B by round, strong/imbalanced seed 2: {d.sort_values('round')['weight_B'].dropna().round(2).tolist()}")
    for bias in ("strong", "weak"):
        d = s[(s["strategy"] == "weighted_entropy") & (s["bias"] == bias)]["dice_B"]
        print(f"4. Test Dice of group B in weighted_entropy runs, {bias} bias: {d.min():.2f}-{d.max():.2f}")
    es = final.groupby(["bias", "init", "strategy"])["es_dice"].mean()
    print(f"5. weak/balanced final ES-Dice: held-out weighted {es['weak', 'balanced', 'we_holdout']:.3f}, "
          f"random {es['weak', 'balanced', 'random']:.3f}")  # fmt: skip
    aucs = pd.DataFrame(
        [
            {"bias": b, "init": i, "strategy": st, "seed": seed,
             "auc_es": area_under_curve(d["n_labeled"], d["es_dice"]), "auc_dice": area_under_curve(d["n_labeled"], d["dice"])}
            for (b, i, st, seed), d in ((k, g.sort_values("n_labeled")) for k, g in s.groupby(["bias", "init", "strategy", "seed"]))
        ]
    )  # fmt: skip
    sb = aucs[(aucs["bias"] == "strong") & (aucs["init"] == "balanced")].pivot(
        index="seed", columns="strategy", values="auc_es"
    )
    lower = int((sb["we_holdout"] < sb["random"]).sum())
    print(f"6. strong/balanced AUC ES-Dice: held-out {sb['we_holdout'].mean():.3f} vs random {sb['random'].mean():.3f}, "
          f"lower in {lower} of {len(sb)} seeds")  # fmt: skip
    m = aucs.pivot_table(index=["bias", "init"], columns="strategy", values="auc_dice")
    trained_on_all = ["random", "stratified_random", "entropy", "masked_entropy", "weighted_entropy", "we_softmax"]
    best = m[trained_on_all].max(axis=1)
    cost = (best - m["we_holdout"]).max()
    cost_soft = (best - m["we_softmax_holdout"]).max()
    print(f"7. Held-out cost: best strategy trained on every label minus the held-out variant, AUC Dice, largest over "
          f"cells: {cost:.3f} (softmax form {cost_soft:.3f})")  # fmt: skip
    e = s[s["strategy"] == "entropy"].sort_values(["run_dir", "n_labeled"]).copy()
    e["batch_share_B"] = e.groupby("run_dir")["n_labeled_B"].diff() / e.groupby("run_dir")["n_labeled"].diff()
    per_round = e[e["bias"] == "strong"].groupby(["init", "round"])["batch_share_B"].mean().dropna()
    print(f"8. Entropy: group B's share of each acquired batch under strong bias (mean of 3 seeds): "
          f"{per_round.min():.2f}-{per_round.max():.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
