"""What machine a benchmark or a run ran on: a training step differs 4-5x between AVX-512 and
AVX2 CPUs, so every benchmark names the vector ISA beside its numbers, and every run folder's
provenance names it and the GPU (:mod:`fair_seg_al.utils.provenance`)."""

from __future__ import annotations

import platform
from pathlib import Path


def _cpuinfo_line(key: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1]
    except OSError:
        pass
    return None


def vector_isa() -> str:
    """``AVX-512``, ``AVX2``, ``other`` (an x86 CPU with neither) or ``unknown`` (no /proc/cpuinfo)."""
    flags = _cpuinfo_line("flags")
    if flags is None:
        return "unknown"
    flags = set(flags.split())
    return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "other"


def cpu_name() -> str:
    """The CPU's model name, or the platform's word for it."""
    name = _cpuinfo_line("model name")
    return name.strip() if name else (platform.processor() or platform.machine())


def gpu_name() -> str | None:
    """The first CUDA device's name, or None where CUDA is not available (or torch cannot say)."""
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # a broken driver must not fail the run that asks
        return None
