"""The ``cluster`` command: exit codes and one-line messages, scores with --labels, and sweep."""
from __future__ import annotations

import pandas as pd
import pytest

from helpers import jpeg, run_cli, write
from pipeline.cli import EXIT_NOTHING, EXIT_OK, EXIT_USAGE, main


def one_line_error(proc, code):
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("cluster:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_missing_folder(tmp_path):
    msg = one_line_error(run_cli(["--images", tmp_path / "nope", "--out", tmp_path / "out"]), EXIT_NOTHING)
    assert "photo folder not found" in msg and "nope" in msg
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("contents", [{}, {"readme.txt": b"hi"}], ids=["empty", "only-text"])
def test_folder_without_photos(tmp_path, contents):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in contents.items():
        write(folder, name, data)
    msg = one_line_error(run_cli(["--images", folder, "--out", tmp_path / "out"]), EXIT_NOTHING)
    assert "no photos" in msg and str(folder) in msg


@pytest.mark.parametrize("eps", ["-0.5", "0"])
def test_bad_eps_is_a_usage_error(tmp_path, small_folder, eps):
    msg = one_line_error(run_cli(["--images", small_folder, "--out", tmp_path / "out", "--eps", eps]), EXIT_USAGE)
    assert "eps must be a positive distance" in msg


@pytest.mark.parametrize("args, words", [
    (["--eps", "abc"], "invalid float value"),
    (["--model", "VGG-Face"], "invalid choice"),
    (["--min-samples", "0"], "min_samples"),
])
def test_bad_options(tmp_path, small_folder, args, words):
    proc = run_cli(["--images", small_folder, "--out", tmp_path / "out", *args])
    assert proc.returncode == EXIT_USAGE
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_facenet512_without_weights_says_where_to_put_them(tmp_path, small_folder):
    from pipeline.weights import _network_reachable

    if _network_reachable():
        pytest.skip("github.com is reachable: DeepFace would download the Facenet512 weights instead of failing")
    home = tmp_path / "empty-home"
    proc = run_cli(["--images", small_folder, "--out", tmp_path / "out", "--model", "Facenet512", "--cache", "none"],
                   env={"FACE_GROUPING_DEEPFACE_HOME": str(home)})
    msg = one_line_error(proc, EXIT_NOTHING)
    assert "facenet512_weights.h5" in msg
    assert str(home / ".deepface" / "weights") in msg
    assert "--model SFace" in msg
    assert not (tmp_path / "out").exists()


def test_full_run_prints_summary_and_scores(tmp_path, small_folder):
    labels = tmp_path / "labels.csv"
    labels.write_text("image_filename,person_id\n" + "".join(f"astro_{k}.jpg,astro\n" for k in range(4))
                      + "coffee.jpg,-1\nbroken.jpg,-1\n")
    out = tmp_path / "out"
    proc = run_cli(["--images", small_folder, "--out", out, "--labels", labels, "--cache", tmp_path / "cache", "--quiet"])
    assert proc.returncode == EXIT_OK, proc.stderr
    assert "6 photos -> 1 clusters, 2 outliers" in proc.stdout
    assert "5 embedded, 0 from cache" in proc.stdout
    assert "skipped 1 non-image files: notes.txt" in proc.stdout
    assert "labels: pairwise P 1.0000 R 1.0000 F1 1.0000" in proc.stdout
    assert (out / "clusters.csv").is_file() and (out / "run.json").is_file()
    assert "Traceback" not in proc.stderr


def test_in_process_rerun_uses_the_cache_and_pairs(tmp_path, small_folder, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("image_a,image_b,same\nastro_0.jpg,astro_1.jpg,1\nastro_0.jpg,coffee.jpg,0\nastro_2.jpg,astro_3.jpg,yes\n")
    args = ["--images", str(small_folder), "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "--quiet"]
    assert main(args) == EXIT_OK
    assert main(args + ["--pairs", str(pairs)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "0 embedded, 5 from cache" in out
    assert "pairs (3): precision 1.000" in out and "recall 1.000" in out


def test_sweep_writes_table_margins_and_plot(tmp_path, small_folder, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text("image_filename,person_id\n" + "".join(f"astro_{k}.jpg,astro\n" for k in range(4)) + "coffee.jpg,-1\n")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("image_a,image_b,same\nastro_0.jpg,astro_1.jpg,1\nastro_1.jpg,coffee.jpg,0\n")
    out = tmp_path / "sweep"
    code = main(["sweep", "--set", f"lab={small_folder},{labels}", "--set", f"pair={small_folder},{pairs}",
                 "--eps-values", "0.001,0.3,0.6", "--min-samples-values", "2,3", "--out", str(out),
                 "--cache", str(tmp_path / "cache"), "--quiet"])
    assert code == EXIT_OK
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 2 * 3 * 2
    assert {"set", "eps", "min_samples", "precision", "recall", "f1"} <= set(table.columns)
    lab = table[(table.set == "lab") & (table.min_samples == 2)].set_index("eps")
    assert lab.loc[0.6, "f1"] == 1.0
    assert lab.loc[0.001, "recall"] == 0.0  # nothing merges at a near-zero threshold
    margins = pd.read_csv(out / "sweep_margin.csv")
    assert list(margins.set) == ["lab", "pair"]
    assert (margins.default_eps == 0.6).all()
    assert (out / "sweep.png").read_bytes().startswith(b"\x89PNG")
    assert "wrote" in capsys.readouterr().out


def test_sweep_bad_set_spec_is_a_usage_error(tmp_path):
    proc = run_cli(["sweep", "--set", "no-equals-sign", "--out", tmp_path / "sweep"])
    msg = one_line_error(proc, EXIT_USAGE)
    assert "NAME=IMAGES_DIR,TRUTH.csv" in msg


def test_photos_only_in_subfolders_get_a_hint(tmp_path, astronaut_array):
    folder = tmp_path / "in"
    write(folder / "holiday", "a.jpg", jpeg(astronaut_array))
    msg = one_line_error(run_cli(["--images", folder, "--out", tmp_path / "out"]), EXIT_NOTHING)
    assert "no photos" in msg and "subfolders are not searched (holiday)" in msg
