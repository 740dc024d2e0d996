"""hydra-submitit-launcher's SLURM launcher, with a failed job failing in SLURM too.

In a multirun, fair_seg_al's entry point turns a job's error into a ``FAILED`` marker in its run
folder and a normal return, so that one bad job never stops a local sweep. Under SLURM that
made ``sacct`` report the job COMPLETED. This launcher raises after such a job (with the
marker's text), so the array task exits non-zero and SLURM records it FAILED. The other
tasks of the array run on regardless; the launching process reports the failure when it
reaches that job's result, and the report lists the job as failed.

Retries: a job that hits its time limit or is pre-empted is requeued by submitit (up to
``max_num_timeout`` times) and resumes from its last completed round. A job that raised is
not retried: config errors, bad data and diverged training fail the same way again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as SubmititSlurmLauncher


class JobFailedError(RuntimeError):
    """A sweep job ended with a FAILED marker (or raised): its SLURM task must exit non-zero."""


class SlurmLauncher(SubmititSlurmLauncher):
    def __call__(self, *args: Any, **kwargs: Any) -> JobReturn:
        ret = super().__call__(*args, **kwargs)
        if ret.status == JobStatus.FAILED:  # raised past the entry point
            raise JobFailedError("the job raised") from ret._return_value
        marker = Path(ret.hydra_cfg.hydra.runtime.output_dir) / "FAILED" if ret.hydra_cfg else None
        if marker is not None and marker.is_file():
            raise JobFailedError(f"{marker.parent} failed:\n{marker.read_text()}")
        return ret
