"""The deconfounded uncertainty comparison's report and verdicts, from the archived raw runs (:mod:`studies.uncertainty_matched`, in sweeps/studies/)."""

from studies.uncertainty_matched import main

if __name__ == "__main__":
    main()
