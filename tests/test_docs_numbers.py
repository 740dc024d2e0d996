"""Numbers quoted in docs/ prose, checked against the committed data they cite.

A number in prose is easy to leave behind when its data are rebuilt; these tests re-read the
data (no training, no network) and fail when a quoted figure no longer matches.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
INTERVAL = re.compile(r"[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\]")


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    nxt = text.find("\n## ", start + len(heading))
    return text[start : nxt if nxt > 0 else None]


def test_uncertainty_table_matches_paired_csv():
    paired = pd.read_csv(DOCS / "uncertainty" / "paired.csv")
    paired = paired[paired["reference"] == "masked_entropy"].set_index(["init", "strategy", "metric"])
    text = section((DOCS / "uncertainty.md").read_text(), "## Results (5 seeds")
    rows = [line for line in text.splitlines() if line.startswith("| balanced |") or line.startswith("| imbalanced |")]
    assert len(rows) == 6
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        init, strategy = cells[0], cells[1].strip("`")
        for cell, metric in zip(cells[2:], ["disparity", "worst_dice", "es_dice", "auc_es_dice"], strict=True):
            r = paired.loc[(init, strategy, metric)]
            expected = f"{r['mean_diff']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
            assert cell == (expected if r["resolved"] else f"unresolved {expected}"), (init, strategy, metric)


def test_replication_chunk_times_match_the_chunk_log():
    log = (DOCS / "replication" / "runs" / "sweep_powered" / "chunks.log").read_text()
    strong = [int(s) for s in re.findall(r"== strong chunk: seeds \S+ took (\d+) s", log)]
    assert len(strong) == 6
    text = (DOCS / "replication.md").read_text()
    assert f"chunks took {min(strong):,}-{max(strong):,} s each" in text


@pytest.mark.parametrize("doc", ["replication.md", "guide.md"])
def test_short_answer_intervals_are_in_the_verdicts(doc):
    """Every interval quoted in the short answer stands, to the digit, in the verdicts the script wrote
    (or, for the before/after table, in the first version's verdicts, kept beside them)."""
    folder = DOCS / "replication" / "sweep_powered"
    verdicts = (folder / "verdicts.md").read_text() + (folder / "verdicts_first_version.md").read_text()
    text = (DOCS / doc).read_text()
    quoted = INTERVAL.findall(
        section(text, "## Short answer") if "## Short answer" in text else section(text, "## Replication at CPU scale")
    )
    assert quoted, "the short answer quotes no interval"
    missing = [q for q in quoted if q not in verdicts]
    assert not missing, f"not in verdicts.md: {missing}"


def test_replication_paired_sd_range_matches_paired_csv():
    paired = pd.read_csv(DOCS / "replication" / "sweep_powered" / "paired.csv")
    d = paired[paired["metric"] == "disparity"]
    text = (DOCS / "replication.md").read_text()
    quoted = f"{d['paired_sd'].min():.3f}-{d['paired_sd'].max():.3f} across the {len(d)} disparity comparisons"
    assert quoted in text


def test_deconfounded_results_match_their_verdicts_and_levels():
    text = section((DOCS / "uncertainty.md").read_text(), "## Deconfounded comparison: results")
    verdicts = (DOCS / "uncertainty" / "matched" / "verdicts.md").read_text()
    quoted = INTERVAL.findall(text)
    assert len(quoted) == 9  # 8 planned tests and TTA's AUC
    for interval in quoted:  # every paired interval in the prose is one the verdicts state
        assert interval in verdicts, interval
    levels = pd.read_csv(DOCS / "uncertainty" / "matched" / "levels.csv").set_index("strategy")
    for s, name in (("masked_entropy", "masked entropy"), ("mc_bald", "BALD"), ("tta", "TTA")):
        r = levels.loc[s]
        assert f"{name} {r['worst_dice']:.3f} [{r['worst_dice_low']:.3f}, {r['worst_dice_high']:.3f}]" in text
    log = (DOCS / "uncertainty" / "runs" / "uncertainty_matched" / "chunks.log").read_text()
    took = [int(t) for t in re.findall(r"took (\d+) s", log)]  # seeds 0-7 as a range, then 8-9 and 10-11
    assert len(took) == 6
    assert f"{min(took[:4]):,}-{max(took[:4]):,} s" in text
    assert f"{took[4]:,} s for seeds 8-9" in text and f"{took[5]:,} s for seeds 10-11" in text


def test_estimator_rescoring_numbers_are_in_its_table():
    text = section((DOCS / "estimators.md").read_text(), "## Re-scoring: results")
    table = (DOCS / "estimators" / "pool" / "table_pool.md").read_text()
    signed = re.findall(r"[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\]", text)
    plain = re.findall(r"(?<![+\-\d.])\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", text)
    assert len(signed) >= 6 and len(plain) >= 6
    for quoted in signed + plain:
        assert quoted in table, quoted
    assert '**the decision is "no estimator"**' in table


def test_augmentation_run_numbers_match_their_csv():
    from fair_seg_al.analysis.stats import paired_summary

    text = section((DOCS / "guide.md").read_text(), "## Training augmentation")
    df = pd.read_csv(DOCS / "benchmarks" / "augmentation_runs.csv")
    pair = df[df["pair"] == "torchio,batched"]
    a = pair[pair["setting"] == "torchio"].set_index("seed").sort_index()
    b = pair[pair["setting"] == "batched"].set_index("seed").sort_index()
    assert len(a) == 5
    for metric, words in (("dice", "final Dice"), ("disparity", "disparity"), ("nsd_B", "NSD")):
        p = paired_summary(b[metric] - a[metric])
        assert f"{words} {p.mean:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}]" in text, metric
    ratio = a["wall_s"] / b["wall_s"]
    assert f"x{ratio.mean():.2f} (x{ratio.min():.2f}-x{ratio.max():.2f} over the 5 seeds" in text
    assert f"training x{(a['train_s'] / b['train_s']).mean():.2f}" in text
    off = df[df["pair"] == "off,batched"].set_index("setting")["wall_s"]
    assert f"x{off['batched'] / off['off']:.2f} of off's wall time" in text
    old = df[df["pair"] == "964cc25,batched"].set_index("setting")["wall_s"]
    assert f"against today's batched: x{old['964cc25'] / old['batched']:.2f}" in text


def test_minority_development_numbers_match_its_report():
    text = section((DOCS / "minority.md").read_text(), "### The candidate rule")
    report = (DOCS / "minority" / "dev.md").read_text()
    for name in ("D1", "D2", "D3", "masked_entropy_shortfall", "stratified_random"):
        row = next(line for line in report.splitlines() if line.startswith(f"| {name} |"))
        auc = row.split("|")[4].strip()
        assert f"{name} {auc}" in text.replace("`", ""), name
    assert "**Chosen: D1**" in report


def test_local_launcher_numbers_match_their_csv():
    text = section((DOCS / "guide.md").read_text(), "## Launchers")
    df = pd.read_csv(DOCS / "benchmarks" / "local_launcher.csv")
    wall = df.groupby("launcher")["wall_s"].mean()
    assert f"{wall['basic']:.0f} s with Hydra's basic" in text and f"{wall['local']:.0f} s with `local`" in text
    pairs = df.pivot(index="pair", columns="launcher", values="wall_s")
    assert f"x{(pairs['basic'] / pairs['local']).mean():.2f}" in text
    assert f"--pairs {len(pairs)}" in text


def test_anatomy_cohort_volumes_match_their_csv():
    subjects = pd.read_csv(DOCS / "figures" / "cohort_anatomies_subjects.csv")
    means = subjects.groupby(["anatomy", "group"])["caudate_volume_mm3"].mean().unstack() / 1000
    kept = means["B"] / means["A"]
    text = section((DOCS / "cohort.md").read_text(), "## Several real anatomies")
    assert f"average {means['A'].min():.2f}-{means['A'].max():.2f} mL in group A" in text
    assert f"group B keeps {100 * kept.min():.0f}-{100 * kept.max():.0f} % of group A's volume" in text
    assert "48-subject cohort" in text and len(subjects) == 48
    assert (subjects.groupby(["anatomy", "group"]).size() == 4).all()  # "four subjects per donor and group"


def test_anatomy_generation_cost_matches_its_benchmark():
    bench = (DOCS / "benchmarks" / "generate_anatomies.md").read_text()
    ratio = re.search(r"Anatomies / template time: \*\*(\d+\.\d+)x\*\*", bench).group(1)
    first, extra = re.search(r"took (\d+\.\d) s \((\d+\.\d) s more\)", bench).groups()
    text = section((DOCS / "cohort.md").read_text(), "## Several real anatomies")
    assert f"takes {ratio} times as long per subject as the template" in text
    assert f"about {round(float(extra) / 6)} s per\ndonor here" in text  # six donors' interiors
    assert float(first) > float(extra)
    plan = " ".join(section((DOCS / "minority.md").read_text(), "## Anatomies cell").split())
    assert f"an anatomies cohort takes {ratio}x the template's time per subject" in plan
    log = (DOCS / "replication" / "runs" / "sweep_powered_minority" / "chunks.log").read_text()
    first5 = [int(t) for seed, t in re.findall(r"seeds (\d+) took (\d+) s", log) if int(seed) < 5]
    per_run = f"{round(min(first5) / 18)}-{round(max(first5) / 18)} s of wall time per run"
    assert f"took {min(first5):,}-{max(first5):,} s, {per_run}" in plan


def test_minority_interim_status_matches_the_archive():
    # the docs quote the report; the archive may already hold a newer chunk (auto-committed by the
    # sweep before the report is rebuilt), never fewer runs than the report
    verdicts = (DOCS / "replication" / "sweep_powered_minority" / "verdicts.md").read_text()
    n = int(re.search(r"Interim: (\d+) of the 12 planned seeds", verdicts).group(1))
    n_runs = 18 * n  # nine strategies x two starts per seed
    runs = DOCS / "replication" / "runs" / "sweep_powered_minority"
    seeds = [int(re.search(r"-seed(\d+)-", p.name).group(1)) for p in runs.iterdir() if p.is_dir()]
    assert sum(s < n for s in seeds) == n_runs  # seeds 0..n-1 complete in the archive
    assert f"`composition_control` {2 * n}," in verdicts  # runs per strategy: n seeds x 2 starts
    replication = " ".join(section((DOCS / "replication.md").read_text(), "## The minority cell").split())
    assert f"minority interim ({n} of 12 seeds)" in replication
    assert f"seeds 0-{n - 1} are archived ({n_runs} runs of the planned 216" in replication
    assert f"interim: {n} of 12 seeds; no verdict yet" in replication
    minority = " ".join((DOCS / "minority.md").read_text().split())
    assert f"minority cell seeds 0-{n - 1} archived and committed ({n_runs} of 216 runs" in minority
    log = (runs / "chunks.log").read_text()
    times = [int(t) for seed, t in re.findall(r"seeds (\d+) took (\d+) s", log) if int(seed) < n]
    assert f"one seed took {min(times):,}-{max(times):,} s" in minority
    readme = " ".join((DOCS.parent / "README.md").read_text().split())
    assert f"interim, {n} of 12 seeds" in readme
    # B images acquired, both starts, as the README rounds them
    acquired = {}
    for line in re.findall(r"B images acquired of 80 \(descriptive\):\*\* (.*)", verdicts):
        for name, mean in re.findall(r"`([\w.]+)[^`]*` (\d+\.\d) \(SD", line):
            acquired.setdefault(name, []).append(float(mean))
    for name, quoted in [
        ("entropy", "about {}-{} and"),
        ("masked_entropy", "and {}-{} of 80 B images"),
        ("random", "plain `random` about {}-{}"),
    ]:
        means = acquired[name]
        assert quoted.format(round(min(means)), round(max(means))) in readme
    # question 1 per start: which rules resolved better / worse than stratified_random
    firsts = re.findall(
        r"\*\*1\. Does any rule beat `stratified_random`.*?\*\* (none resolved better|resolved better: [^;]*); "
        r"resolved worse: ([^.]*)\.(.*)",
        verdicts,
    )
    assert len(firsts) == 2  # both starts, balanced first
    better = set()
    for start, (resolved_better, worse, details) in zip(["balanced", "imbalanced"], firsts, strict=True):
        assert "`entropy`" in worse and "`masked_entropy`" in worse
        better |= {(start, *b) for b in re.findall(r"`([\w.]+)` (\w+)", resolved_better)}
        for rule in ["masked_entropy.stratified_power", "weighted_entropy"]:  # "unresolved on every metric"
            assert len(re.findall(f"`{re.escape(rule)}` \\w+ unresolved", details)) == 4
    # the docs name the one rule resolved better, and quote its interval
    assert better == {("imbalanced", "composition_control", "auc_worst_dice")}
    imbalanced = verdicts.split("init=imbalanced")[1]
    interval = re.search(r"`composition_control` auc_worst_dice resolved better \((.*?\]),", imbalanced).group(1)
    assert interval == "+0.007 [+0.004, +0.010]"
    assert f"worst-group Dice AUC from the imbalanced start ({interval})" in readme
    assert f"worst-group Dice AUC from the imbalanced start ({interval})" in replication
    assert "the only rule resolved better than `stratified_random` is `composition_control`" in minority
    assert len(re.findall(r"\*\*3\. Do estimates matter\?.*?\*\* none resolved better\.", verdicts)) == 2
