"""AL state files: plain data only, durable, a damaged newest state falls back to the round before."""

from __future__ import annotations

import logging

import pytest
import torch

from fair_seg_al.al.state import PREVIOUS_FILE, STATE_FILE, StateError, load_state, save_state


class RunsCode:
    """Unpickling this calls ``marker.touch()``: what a crafted state file could do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (type(self.marker).touch, (self.marker,))


def test_a_crafted_state_is_refused_without_running_anything(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"round": 3, "payload": RunsCode(marker)}, tmp_path / STATE_FILE)
    with pytest.raises(StateError, match="not a plain-data AL state"):
        load_state(tmp_path)
    assert not marker.exists()


def test_previous_state_is_kept_and_a_truncated_one_falls_back(tmp_path, caplog):
    save_state(tmp_path, {"round": 0, "w": torch.ones(3)})
    assert not (tmp_path / PREVIOUS_FILE).exists()
    save_state(tmp_path, {"round": 1, "w": torch.zeros(3)})
    assert torch.load(tmp_path / PREVIOUS_FILE, weights_only=True)["round"] == 0
    assert load_state(tmp_path)["round"] == 1
    data = (tmp_path / STATE_FILE).read_bytes()
    (tmp_path / STATE_FILE).write_bytes(data[: len(data) // 2])  # killed mid-write by something else
    with caplog.at_level(logging.WARNING):
        state = load_state(tmp_path)
    assert state["round"] == 0 and torch.equal(state["w"], torch.ones(3))
    assert "damaged" in caplog.text and PREVIOUS_FILE in caplog.text


def test_a_damaged_state_without_a_previous_one_is_a_clear_error(tmp_path):
    (tmp_path / STATE_FILE).write_bytes(b"not a torch file")
    with pytest.raises(StateError, match=f"is damaged .* there is no {PREVIOUS_FILE}"):
        load_state(tmp_path)
    assert load_state(tmp_path / "empty") is None
