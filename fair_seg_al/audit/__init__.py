"""The pipeline audit: does any stage that touches images or labels treat the groups differently?

A fairness study compares groups through an instrument (preprocessing, padding, patches,
augmentation, sliding-window stitching). If a stage shrinks one group's labels more than
another's, the comparison measures the instrument. The audit runs each stage of a configured
pipeline on a sample of every group's subjects and reports, per group, what the stage did to
the label (volume after / before, connected parts, boundary displacement) and to the image
(contrast of the structure against its surroundings), with intervals and the difference
between groups; it fails where a stage moves a group's mean label volume, or the groups apart,
beyond a tolerance.

    python -m fair_seg_al.audit                                   # the default job's pipeline
    python -m fair_seg_al.audit experiment=sweep_powered_minority # a sweep's pipeline
    python -m fair_seg_al.audit source=folder source.path=/data/my_cohort --out audit/
"""

from fair_seg_al.audit.report import AuditResult, summarise
from fair_seg_al.audit.stages import StageRow, audit_pipeline

__all__ = ["AuditResult", "StageRow", "audit_pipeline", "summarise"]
