#!/usr/bin/env bash
# Stop the one-node SLURM cluster started by start_local_cluster.sh.
pkill -x slurmd || true
pkill -x slurmctld || true
pkill -x munged || true
echo "stopped"
