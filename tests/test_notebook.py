"""The headless entry point: run.sh executes notebooks/analysis.ipynb with papermill on a folder
and writes the same clusters.csv the CLI writes for the same photos and settings."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers import PROJECT, run_cli

pytestmark = pytest.mark.slow


def test_run_sh_executes_the_notebook_and_matches_the_cli(small_folder, tmp_path):
    out_nb, out_cli = tmp_path / "nb", tmp_path / "cli"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "FACE_GROUPING_CACHE": str(tmp_path / "cache")}
    # shared_data pointing nowhere: the evidence sections must skip, not fail
    done = subprocess.run(
        ["bash", str(PROJECT / "run.sh"), "--images", str(small_folder), "--out", str(out_nb),
         "--shared-data", str(tmp_path / "no-shared-data"), "--eps", "0.5"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("clusters.csv", "outliers.csv", "viz_3d.png", "run.json", "analysis.ipynb"):
        assert (out_nb / name).is_file(), name
    cli = run_cli(["--images", small_folder, "--out", out_cli, "--eps", "0.5", "--quiet"],
                  env={"FACE_GROUPING_CACHE": str(tmp_path / "cache")})
    assert cli.returncode == 0, cli.stderr
    assert (out_nb / "clusters.csv").read_bytes() == (out_cli / "clusters.csv").read_bytes()


def test_run_sh_rejects_a_missing_folder(tmp_path):
    done = subprocess.run(["bash", str(PROJECT / "run.sh"), "--images", str(tmp_path / "nope")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert "not found" in done.stderr
