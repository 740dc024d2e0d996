"""The candidate's settings, chosen on the development cohort by the rule of docs/minority.md (:mod:`fair_seg_al.analysis.minority_dev`)."""

from fair_seg_al.analysis.minority_dev import main

if __name__ == "__main__":
    main()
