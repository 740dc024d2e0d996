"""A non-editable install runs from any folder: configs, the SLURM launcher and a user's own config folder (slow).

The wheel is built from this checkout and installed without dependencies into a fresh
virtual environment; the dependencies come from this project's environment (a path entry),
so the test checks what *our* package ships, without downloading anything.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv

import pandas as pd
import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_an_installed_wheel_runs_from_another_folder(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        cwd=tmp_path,
    )
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
         str(next(wheels.glob("fair_seg_al-*.whl")))],
        check=True,
    )  # fmt: skip
    # the dependencies: this environment's site-packages, as a plain path (its editable finder is not loaded)
    target = next((env_dir / "lib").glob("python3*/site-packages"))
    (target / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FAIR_SEG_AL_ROOT")}
    env["WANDB_SILENT"] = "true"

    def run(*args):
        res = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        return res.stdout

    where = run(str(py), "-c", "import fair_seg_al; print(fair_seg_al.__file__)")
    assert where.startswith(str(target)), where  # the installed copy, not this checkout

    cli = str(env_dir / "bin" / "fair-seg-al")
    run(cli, "experiment=smoke", "trainer.max_steps=2", "al.rounds=1", "logger=none", "hydra.run.dir=run")
    assert pd.read_csv(work / "run" / "rounds.csv")["round"].tolist() == [0, 1]
    assert list((work / "data" / "cohorts").iterdir())  # relative paths resolve in the folder it runs in

    # the SLURM launcher plugin ships with the package
    assert "hydra_plugins.fair_seg_al_launchers.slurm" in run(cli, "--info", "plugins")

    # a user's own config folder beside the packaged ones (Hydra's --config-dir)
    mine = work / "my_conf" / "strategy"
    mine.mkdir(parents=True)
    (mine / "my_random.yaml").write_text(
        (REPO / "conf" / "strategy" / "random.yaml").read_text().replace("name: random", "name: my_random")
    )
    job = run(cli, "--config-dir", str(work / "my_conf"), "strategy=my_random", "--cfg", "job")
    assert "name: my_random" in job
