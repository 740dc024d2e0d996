"""Rebuild the powered replication's reports and verdicts from the archived raw runs (:mod:`studies.replication`, in sweeps/studies/)."""

from studies.replication import main

if __name__ == "__main__":
    main()
