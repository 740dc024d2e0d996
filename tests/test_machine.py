"""The machine description benchmarks print beside their numbers."""

from __future__ import annotations

from fair_seg_al.utils import machine


def test_vector_isa_reads_the_cpu_flags(monkeypatch):
    lines = {"flags": " fpu sse2 avx avx2 fma", "model name": " Test CPU @ 2.0GHz"}
    monkeypatch.setattr(machine, "_cpuinfo_line", lambda key: lines.get(key))
    assert machine.vector_isa() == "AVX2" and machine.cpu_name() == "Test CPU @ 2.0GHz"
    lines["flags"] += " avx512f avx512bw"
    assert machine.vector_isa() == "AVX-512"
    lines["flags"] = " fpu sse2"  # avx512bw alone would not count: the foundation flag decides
    assert machine.vector_isa() == "other"
    monkeypatch.setattr(machine, "_cpuinfo_line", lambda key: None)
    assert machine.vector_isa() == "unknown" and machine.cpu_name()
