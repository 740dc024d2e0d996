"""The deconfounded uncertainty comparison's report and verdicts, from the archived raw runs (:mod:`fair_seg_al.analysis.uncertainty_matched`)."""

from fair_seg_al.analysis.uncertainty_matched import main

if __name__ == "__main__":
    main()
