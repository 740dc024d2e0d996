"""Data: the cohort folder format (this module), the AL pool and the DataModule."""

from fair_seg_al.data.cohort_folder import CohortFolder, CohortFormatError, SubjectRecord

__all__ = ["CohortFolder", "CohortFormatError", "SubjectRecord"]
