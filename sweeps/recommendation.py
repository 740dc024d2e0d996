"""Which fairness-aware preset the product recommends, chosen by a rule from the archived runs (:mod:`studies.recommendation`, in sweeps/studies/)."""

from studies.recommendation import main

if __name__ == "__main__":
    main()
