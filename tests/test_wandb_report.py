"""The W&B comparison report of a sweep (fair_seg_al.wandb_report), checked offline.

The expectations are written out here (section names, filter items, metric keys), not read from
the module, and every test runs with the ways out to the network made to fail.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import wandb_workspaces.reports.v2 as wr  # noqa: E402  (a dependency: an install without it fails here)
import wandb_workspaces.reports.v2.interface as wr_interface  # noqa: E402

from fair_seg_al import wandb_report as ww  # noqa: E402

CONF = Path(__file__).resolve().parents[1] / "conf"
SECTIONS = [
    "bias=strong x init=balanced",
    "bias=strong x init=imbalanced",
    "bias=weak x init=balanced",
    "bias=weak x init=imbalanced",
]
METRICS = ["al/dice_A", "al/dice_B", "al/dice_disparity", "al/es_dice", "al/n_labeled_B"]


def no_network(*args, **kwargs):
    raise AssertionError("tried to reach the network")


@pytest.fixture
def offline(monkeypatch):
    """Every way this code could reach W&B fails the test."""
    import wandb

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(wandb, "Api", no_network)
    monkeypatch.setattr(wr_interface, "_get_api", no_network)
    monkeypatch.setattr(wr_interface, "execute_graphql", no_network)


def build():
    return ww.comparison_report(
        "team", "proj", "sweep_cpu", biases=["strong", "weak"], inits=["balanced", "imbalanced"]
    )


def sections(report):
    """(heading text, panel grid) per section, in order."""
    out, heading = [], None
    for block in report.blocks:
        if isinstance(block, wr.H2):
            heading = block.text
        elif isinstance(block, wr.PanelGrid):
            out.append((heading, block))
    return out


def test_one_section_per_bias_and_init(offline):
    report = build()
    assert isinstance(report, wr.Report)
    assert (report.entity, report.project) == ("team", "proj")
    assert [name for name, _ in sections(report)] == SECTIONS


def test_each_section_filters_the_sweep_and_its_cell_and_drops_oracle_controls(offline):
    for name, grid in sections(build()):
        assert len(grid.runsets) == 1
        runset = grid.runsets[0]
        bias, init = (part.split("=")[1] for part in name.split(" x "))
        items = [
            (f["key"]["section"], f["key"]["name"], f["op"], f["value"]) for f in runset._stashed_filters_v2["filters"]
        ]
        assert items == [
            ("run", "group", "=", "sweep_cpu"),
            ("config", "bias.name", "=", bias),
            ("config", "init.name", "=", init),
            ("run", "tags", "NIN", ["control=oracle"]),
        ], name
        assert (runset.entity, runset.project) == ("team", "proj")


def test_runs_are_grouped_by_strategy_and_panels_are_the_figures(offline):
    for name, grid in sections(build()):
        assert grid.runsets[0].groupby == ["config.labels.strategy"], name
        plots = grid.panels
        assert all(isinstance(p, wr.LinePlot) for p in plots)
        assert [y for p in plots for y in p.y] == METRICS
        for p in plots:
            assert p.x == "al/round"
            assert p.groupby == wr.Config("labels.strategy")
            assert (p.groupby_aggfunc, p.groupby_rangefunc) == ("mean", "stddev")


def test_the_saved_spec_keeps_the_oracle_tag_whole(monkeypatch):
    """What save() would send (its one lookup, the project's id, answered here): filters, grouping
    and panels as W&B reads them. The tag 'control=oracle' reaches W&B as written (the library's
    string parser alone would send 'control==oracle', which matches no run)."""
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(wr_interface, "_get_api", lambda: None)
    monkeypatch.setattr(wr_interface, "execute_graphql", lambda *a, **k: {"project": {"internalId": "P1"}})
    spec = build()._to_model().model_dump(by_alias=True, exclude_none=True, mode="json")
    grids = [b for b in spec["spec"]["blocks"] if b["type"] == "panel-grid"]
    assert len(grids) == 4
    for grid in grids:
        (runset,) = grid["metadata"]["runSets"]
        tag_filters = [f for f in runset["filters"]["filters"] if f["key"] == {"section": "run", "name": "tags"}]
        assert tag_filters == [
            {
                "key": {"section": "run", "name": "tags"},
                "op": "NIN",
                "value": ["control=oracle"],
                "disabled": False,
                "connector": "AND",
            }
        ]
        assert runset["grouping"] == [{"section": "config", "name": "labels.value.strategy"}]
        panels = grid["metadata"]["panelBankSectionConfig"]["panels"]
        assert [m for p in panels for m in p["config"]["metrics"]] == METRICS
        assert {(p["config"]["xAxis"], p["config"]["groupAgg"], p["config"]["groupArea"]) for p in panels} == {
            ("al/round", "mean", "stddev")
        }


def test_default_values_are_the_presets_in_conf(offline):
    biases = sorted(p.stem for p in (CONF / "bias").glob("*.yaml"))
    inits = sorted(p.stem for p in (CONF / "init").glob("*.yaml"))
    assert "strong" in biases and "imbalanced" in inits
    report = ww.comparison_report("team", "proj", "sweep_cpu")
    assert [name for name, _ in sections(report)] == [f"bias={b} x init={i}" for b in biases for i in inits]


def test_dry_run_prints_the_spec_without_network(offline, capsys):
    argv = ["--entity", "team", "--project", "proj", "--sweep", "sweep_cpu", "--bias", "strong,weak"]
    assert ww.main([*argv, "--init", "balanced,imbalanced", "--dry-run"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in spec["sections"]] == SECTIONS
    for s in spec["sections"]:
        assert {"key": {"section": "run", "name": "group"}, "op": "=", "value": "sweep_cpu", "disabled": False} in s[
            "runset"
        ]["filters"]
        assert any(f["op"] == "NIN" and f["value"] == ["control=oracle"] for f in s["runset"]["filters"])
        assert s["runset"]["groupby"] == ["config.labels.strategy"]
        assert [p["y"] for p in s["panels"]] == [[m] for m in METRICS]
        assert {p["x"] for p in s["panels"]} == {"al/round"}


def test_save_without_login_fails_with_a_clear_message(offline, capsys):
    assert ww.main(["--entity", "team", "--sweep", "sweep_cpu", "--bias", "strong", "--init", "balanced"]) == 1
    err = capsys.readouterr().err
    assert "team/fair_seg_al" in err and "wandb login" in err


@pytest.mark.parametrize(
    "argv, option",
    [
        (["--entity", "team", "--sweep", ""], "--sweep"),
        (["--entity", "  ", "--sweep", "s"], "--entity"),
        (["--entity", "team", "--sweep", "s", "--bias", "strong,"], "--bias"),
        (["--entity", "team", "--sweep", "s", "--bias", "storng"], "--bias"),
        (["--entity", "team", "--sweep", "s", "--init", "balanced,balanced"], "--init"),
    ],
)
def test_bad_input_names_its_option(offline, capsys, argv, option):
    with pytest.raises(SystemExit) as exit_:
        ww.main([*argv, "--dry-run"])
    assert exit_.value.code == 2
    assert f"error: {option}:" in capsys.readouterr().err


def test_bad_input_from_python_raises_spec_error(offline):
    with pytest.raises(ww.SpecError, match="--sweep: must be a non-empty name") as err:
        ww.comparison_report("team", "proj", "   ")
    assert err.value.option == "sweep"


def test_without_the_library_the_message_says_how_to_install(offline, monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "wandb_workspaces", None)
    assert ww.main(["--entity", "team", "--sweep", "s", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'wandb-workspaces" in err and "make install" in err
