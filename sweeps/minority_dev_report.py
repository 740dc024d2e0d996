"""The candidate's settings, chosen on the development cohort by the rule of docs/minority.md (:mod:`studies.minority_dev`, in sweeps/studies/)."""

from studies.minority_dev import main

if __name__ == "__main__":
    main()
