"""Moved: the report is ``python -m fair_seg_al.analysis.report``. This name keeps working for
users who learned it, and says where it went."""

from __future__ import annotations

import sys

from fair_seg_al.analysis.report import main

if __name__ == "__main__":
    print("note: fair_seg_al.report moved to fair_seg_al.analysis.report; running that", file=sys.stderr)
    main()
