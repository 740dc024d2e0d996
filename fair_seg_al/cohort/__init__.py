"""Synthetic T1 brain-MRI cohorts with a controlled left-caudate bias in one subgroup."""

from fair_seg_al.cohort.generator import SimulatedSubject, generate_cohort, simulate_subject
from fair_seg_al.cohort.spec import BiasSpec, CohortSpec

__all__ = ["BiasSpec", "CohortSpec", "SimulatedSubject", "generate_cohort", "simulate_subject"]
