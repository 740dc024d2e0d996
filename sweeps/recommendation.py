"""Which fairness-aware preset the product recommends, chosen by a rule from the archived runs (:mod:`fair_seg_al.analysis.recommendation`)."""

from fair_seg_al.analysis.recommendation import main

if __name__ == "__main__":
    main()
