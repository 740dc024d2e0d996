"""Which code, libraries and machine made a run: ``provenance.json`` in every run folder.

A run folder's numbers are only as good as the code that made them, so each run names it:

- ``code_id``: ``73c547b`` (a clean git checkout), ``73c547b+dirty`` (uncommitted changes to the
  package or ``conf/``), ``wheel-0.1.0`` (installed, not a checkout) or ``unknown`` (git missing
  or failing in what looks like a checkout);
- ``code``: where the id comes from: the full commit, whether the tree is dirty, how many paths
  are and a hash of the changes (two dirty trees at one commit are told apart), the package version;
- ``versions``: python and the libraries that change results;
- ``machine``: the CPU's vector ISA and name, the GPU's name where CUDA is available.

The checkout is found from the imported package's own folder, not the working directory: a
sweep runs another checkout's code with ``cd $CODE_DIR`` and ``PYTHONPATH=$CODE_DIR``. Nothing
here may fail a run: every failure becomes a value that says so. A run resumed with other code
(or other library versions) keeps its original record and lists each resuming one under
``resumed_with``, with a warning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from fair_seg_al.utils.io import atomic_write_json
from fair_seg_al.utils.machine import cpu_name, gpu_name, vector_isa

PROVENANCE_FILE = "provenance.json"
DISTRIBUTION = "fair_seg_al"
UNKNOWN = "unknown"
#: the id of runs made before provenance was recorded (archives from before 2026-12-06)
UNRECORDED = "unrecorded"
#: distributions whose versions change results (``lightning`` only where installed)
LIBRARIES = ("torch", "monai", "torchio", "pytorch_lightning", "lightning", "numpy", "hydra-core")
#: beside the package, the folders whose changes make a checkout dirty (where present)
CODE_FOLDERS = ("conf", "hydra_plugins")

PACKAGE_DIR = Path(__file__).resolve().parents[1]

log = logging.getLogger(__name__)


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``git ARGS`` in ``cwd``, free of the caller's ``GIT_*`` settings (a ``GIT_DIR`` would name
    another repository) and taking no optional locks (parallel jobs run this in one checkout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_OPTIONAL_LOCKS"] = "0"
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, timeout=30, check=False)


def _version() -> str | None:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def _inside_a_checkout(folder: Path) -> bool:
    return any((p / ".git").exists() for p in (folder, *folder.parents))


def code_provenance(package_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Where the code of ``package_dir`` (default: this package's folder) comes from.

    Returns:
        ``source`` (``git``, ``wheel`` or ``unknown``), ``commit``, ``dirty``, ``dirty_paths``,
        ``diff_sha`` (a hash of the uncommitted changes, None when clean), ``version`` and, for
        ``unknown``, the ``reason``.
    """
    folder = Path(package_dir) if package_dir is not None else PACKAGE_DIR
    version = _version()
    unknown = {"source": UNKNOWN, "commit": None, "dirty": None, "dirty_paths": None, "diff_sha": None}
    try:
        head = _git(["rev-parse", "HEAD"], folder)
        # a package installed into a virtual environment inside some checkout is not that checkout's code
        tracked = head.returncode == 0 and _git(["ls-files", "--", "__init__.py"], folder).stdout.strip()
        if not tracked:
            if head.returncode != 0 and _inside_a_checkout(folder):  # e.g. git's "dubious ownership"
                # git's own message names the folder: no machine path goes into a record that may be committed
                reason = "git rev-parse failed in a checkout (e.g. owned by another user: git's safe.directory)"
                return {**unknown, "version": version, "reason": reason}
            if version is None:
                return {**unknown, "version": None, "reason": "neither a git checkout nor an installed distribution"}
            return {**unknown, "source": "wheel", "version": version}
        top = Path(_git(["rev-parse", "--show-toplevel"], folder).stdout.decode().strip())
        paths = [os.path.relpath(folder.resolve(), top.resolve())]
        paths += [name for name in CODE_FOLDERS if (top / name).is_dir()]
        status = _git(["status", "--porcelain", "--untracked-files=all", "--", *paths], top)
        if status.returncode != 0:
            raise OSError(f"git status failed (exit {status.returncode})")
        lines = [line for line in status.stdout.decode().splitlines() if line.strip()]
        dirty = sorted(line[3:] for line in lines)
        diff_sha = None
        if dirty:  # the changes themselves: tracked files' diff and untracked files' contents
            digest = hashlib.sha256(_git(["diff", "HEAD", "--binary", "--", *paths], top).stdout)
            for name in sorted(line[3:] for line in lines if line.startswith("??")):
                with contextlib.suppress(OSError):  # an unreadable file still counts as dirty
                    digest.update(name.encode() + b"\0" + (top / name).read_bytes())
            diff_sha = digest.hexdigest()[:12]
        return {
            "source": "git",
            "commit": head.stdout.decode().strip(),
            "dirty": bool(dirty),
            "dirty_paths": len(dirty),
            "diff_sha": diff_sha,
            "version": version,
        }
    except (OSError, subprocess.SubprocessError) as err:  # git not installed, hung, or unreadable files
        return {**unknown, "version": version, "reason": f"git: {err}"[:200]}


def code_id(code: dict[str, Any]) -> str:
    """The short name of ``code`` (:func:`code_provenance`): ``73c547b``, ``73c547b+dirty``,
    ``wheel-0.1.0`` or ``unknown``."""
    if code.get("source") == "git" and code.get("commit"):
        return code["commit"][:7] + ("+dirty" if code.get("dirty") else "")
    if code.get("source") == "wheel" and code.get("version"):
        return f"wheel-{code['version']}"
    return UNKNOWN


def library_versions() -> dict[str, str]:
    """Python's and each of :data:`LIBRARIES`' installed version (``lightning`` left out if absent)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            if name != "lightning":
                versions[name] = "not installed"
    return versions


def machine_provenance() -> dict[str, str | None]:
    """The CPU's vector ISA and name, and the GPU's name (None without CUDA)."""
    return {"vector_isa": vector_isa(), "cpu": cpu_name(), "gpu": gpu_name()}


def provenance(package_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """``code_id``, ``code``, ``versions`` and ``machine`` of this process. Never raises: a part
    that cannot be found says ``unknown`` and why."""
    record: dict[str, Any] = {}
    for key, part in (
        ("code", lambda: code_provenance(package_dir)),
        ("versions", library_versions),
        ("machine", machine_provenance),
    ):
        try:
            record[key] = part()
        except Exception as err:  # provenance must never fail a run
            record[key] = {"source": UNKNOWN, "reason": f"{type(err).__name__}: {err}"[:200]}
    record["code_id"] = code_id(record["code"])
    return record


def read_provenance(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """A run folder's saved provenance, or None (a run from before it was recorded, or a damaged file)."""
    path = Path(run_dir) / PROVENANCE_FILE
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) else None


def run_code_id(saved: dict[str, Any] | None) -> str:
    """The code class of a run for pooling: its ``code_id``, followed by every resuming code's
    (``73c547b resumed with 4d2e1f0``); :data:`UNRECORDED` without provenance."""
    if not saved:
        return UNRECORDED
    ids = [str(saved.get("code_id", UNKNOWN))] + [str(r.get("code_id", UNKNOWN)) for r in saved.get("resumed_with", [])]
    return ids[0] + "".join(f" resumed with {i}" for i in ids[1:])


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("code") == b.get("code") and a.get("versions") == b.get("versions")


def record_provenance(
    run_dir: str | os.PathLike, resumed: bool = False, current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write this process's provenance into ``run_dir`` (atomically), or, where the run already
    has one (a resume), keep it and append ``current`` to ``resumed_with`` if its code or
    library versions differ from the last code that ran it. Never raises.

    Args:
        resumed: the run continues a saved AL state; without a saved provenance (a run begun
            before provenance was recorded) its original code is then :data:`UNRECORDED`. A run
            that starts afresh (False) replaces what an earlier, failed attempt recorded.
        current: this process's :func:`provenance` (default: found now).

    Returns:
        The run folder's provenance as now saved.
    """
    current = current if current is not None else provenance()
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = Path(run_dir) / PROVENANCE_FILE
    # a fresh start replaces any record a failed earlier attempt left: none of its results remain
    saved = read_provenance(run_dir) if resumed else None
    if saved is None and resumed:
        saved = {"code_id": UNRECORDED, "code": None, "versions": None, "machine": None}
    if saved is None:
        record = {**current, "recorded_at": now}
    else:
        last = (saved.get("resumed_with") or [saved])[-1]
        if _same(last, current):
            return saved
        record = {**saved, "resumed_with": [*saved.get("resumed_with", []), {**current, "recorded_at": now}]}
        log.warning(
            "%s was run by code %s and is resumed by code %s (libraries %s): recorded under resumed_with in %s",
            run_dir,
            last.get("code_id"),
            current["code_id"],
            "the same" if last.get("versions") == current.get("versions") else "differ",
            PROVENANCE_FILE,
        )
    try:
        atomic_write_json(path, record)
    except OSError as err:  # a run is never failed by its record
        log.warning("could not write %s: %s", path, err)
    return record
