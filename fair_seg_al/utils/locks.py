"""Cross-process locks on shared folders (the cohort cache, a run folder), local or on a cluster.

``kind="auto"`` takes an ``flock`` lock (:class:`filelock.FileLock`) and falls back to a lock
*file* (:class:`filelock.SoftFileLock`, created with ``O_EXCL``) where the file system has no
``flock``. ``kind="soft"`` always uses the lock file: choose it on NFS mounts where ``flock``
works but only within one node (``local_lock=flock``), which would let jobs on two nodes
generate the same cohort at once. A lock file left by a killed process on this host is
broken by filelock; one left on another host is named in the timeout message.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, SoftFileLock, Timeout

log = logging.getLogger(__name__)

LOCK_KINDS = ("auto", "soft")


def check_lock_config(paths) -> None:
    """``paths.lock`` and ``paths.lock_timeout_s``, before anything waits on a lock.

    Raises:
        ConfigError: naming the key.
    """
    from fair_seg_al.config import require

    require(
        paths.get("lock") in LOCK_KINDS,
        "paths.lock",
        f"must be one of {list(LOCK_KINDS)}, got {paths.get('lock')!r}",
        "paths",
    )
    timeout = paths.get("lock_timeout_s")
    require(
        timeout is None or (isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout >= 0),
        "paths.lock_timeout_s",
        f"must be a number of seconds >= 0 or null, got {timeout!r}",
        group="paths",
    )


#: errors that mean "this file system has no flock" (filelock 3 raises NotImplementedError for ENOSYS)
_NO_FLOCK = (errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP)


class LockTimeoutError(TimeoutError):
    """Waited longer than the configured timeout for a lock another process holds."""


def _acquire(lock, timeout_s: float | None, lock_file: Path, holder: str) -> None:
    try:
        lock.acquire(timeout=-1 if timeout_s is None else float(timeout_s))
    except Timeout:
        raise LockTimeoutError(
            f"waited {timeout_s:g} s for {lock_file}: another process holds it while it {holder}. If none is "
            f"running (a job killed on another node can leave a lock file behind), delete {lock_file} and run "
            "again; paths.lock_timeout_s sets how long to wait"
        ) from None


@contextlib.contextmanager
def folder_lock(
    lock_file: str | os.PathLike, kind: str = "auto", timeout_s: float | None = None, holder: str = "works here"
) -> Iterator[None]:
    """Hold ``lock_file`` for the block.

    Args:
        lock_file: the lock's path (its folder must exist).
        kind: ``"auto"`` or ``"soft"`` (see the module docstring).
        timeout_s: how long to wait for another holder; None waits for ever, 0 not at all.
        holder: what the other holder is doing, for the timeout message.

    Raises:
        LockTimeoutError: another process held the lock for ``timeout_s``.
    """
    if kind not in LOCK_KINDS:
        raise ValueError(f"paths.lock must be one of {LOCK_KINDS}, got {kind!r}")
    lock_file = Path(lock_file)
    soft_file = lock_file.with_name(lock_file.name + ".soft")  # never the flock file: it may exist unlocked
    lock = SoftFileLock(str(soft_file)) if kind == "soft" else FileLock(str(lock_file))
    try:
        _acquire(lock, timeout_s, soft_file if kind == "soft" else lock_file, holder)
    except (NotImplementedError, OSError) as err:
        if isinstance(err, LockTimeoutError) or (isinstance(err, OSError) and err.errno not in _NO_FLOCK):
            raise
        log.warning("%s: this file system has no flock (%s); using the lock file %s", lock_file, err, soft_file)
        lock = SoftFileLock(str(soft_file))
        _acquire(lock, timeout_s, soft_file, holder)
    try:
        yield
    finally:
        lock.release()
