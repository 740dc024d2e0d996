"""Rebuild the powered replication's reports and verdicts from the archived raw runs (:mod:`fair_seg_al.analysis.replication`)."""

from fair_seg_al.analysis.replication import main

if __name__ == "__main__":
    main()
