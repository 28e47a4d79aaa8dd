"""Page logic of the Streamlit app (streamlit.testing.v1.AppTest) on real photos from the shared
genlift set: upload, live re-clustering, edits surviving a re-cluster, pair labels, export."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from helpers import GENLIFT

from pipeline import Settings, embed_folder, group_photos
from pipeline.weights import model_weights_available

APP = Path(__file__).resolve().parents[1] / "app.py"
EPS_KEY = "eps:SFace:agglomerative:cosine"
TIMEOUT = 120
N_PHOTOS = 16


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    if not (GENLIFT / "faces").is_dir():
        pytest.skip(f"shared data not found at {GENLIFT} (expected ../shared/data beside the project)")
    folder = tmp_path_factory.mktemp("photos")
    for p in sorted((GENLIFT / "faces").glob("*.jpg"))[:N_PHOTOS]:
        (folder / p.name).write_bytes(p.read_bytes())
    return folder


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def env(tmp_path, cache, monkeypatch) -> Path:
    artifacts = tmp_path / "artifacts"
    monkeypatch.setenv("FACE_GROUPING_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("FACE_GROUPING_CACHE", str(cache))
    return artifacts


def app_on(folder: Path, page: str | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state["photo_folder"] = str(folder)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_upload_photos_and_zip_lists_refusals_and_non_images_then_second_visit_is_cached(env, photos, cache):
    from streamlit.testing.v1 import AppTest

    files = sorted(photos.glob("*.jpg"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for p in files[10:12]:
            archive.write(p, f"more/{p.name}")
        archive.writestr("notes.txt", "not a photo")
        archive.writestr("../evil.jpg", files[0].read_bytes())
    upload = [(p.name, p.read_bytes(), "image/jpeg") for p in files[:10]] + [("more.zip", buf.getvalue(), "application/zip")]
    for visit in (1, 2):
        if visit == 2:  # a new server process: nothing in memory, only the on-disk embedding cache
            import streamlit as st

            st.cache_resource.clear()
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.run()
        assert any("No photos chosen" in i.value for i in at.info)
        at.file_uploader(key="uploads").set_value(upload)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert "12 photos saved" in at.success[0].value
        assert any("../evil.jpg" in w.value and "'..'" in w.value for w in at.warning)
        assert any("notes.txt" in i.value for i in at.info)
        folder = Path(at.session_state["photo_folder"])
        assert folder.parent == env / "uploads"
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in files[:12])
        assert metric(at, "Photos") == "12"
        caption = " ".join(c.value for c in at.caption)
        if visit == 2:  # same photos: the on-disk embedding cache answers, nothing is embedded
            assert "0 embedded, 12 from the cache" in caption


def test_sliders_recluster_live_like_the_pipeline(env, photos, cache):
    at = app_on(photos, "pages/explore.py")
    collection = embed_folder(photos, Settings(), cache)
    for eps in (0.6, 0.25, 1.0):
        at.slider(key=EPS_KEY).set_value(eps).run()
        assert not at.exception
        g = group_photos(collection, Settings(eps=eps))
        clusters = int((g.clusters.cluster_id.max() + 1)) if (g.clusters.cluster_id >= 0).any() else 0
        assert metric(at, "Clusters") == str(clusters), eps
        assert metric(at, "Outliers") == str(int((g.clusters.cluster_id == -1).sum())), eps
    at.slider(key="min_samples").set_value(5).run()
    g = group_photos(collection, Settings(eps=1.0, min_samples=5))
    assert metric(at, "Outliers") == str(int((g.clusters.cluster_id == -1).sum()))
    charts = at.get("plotly_chart")
    assert len(charts) == 3  # the 3D scatter, its clickable 2D view, the k-distance plot
    scatter = json.loads(charts[0].proto.spec)
    assert {t["type"] for t in scatter["data"]} == {"scatter3d"}
    assert {t["type"] for t in json.loads(charts[1].proto.spec)["data"]} == {"scatter"}
    assert sum("cluster" in t["name"] or "outliers" in t["name"] for t in scatter["data"]) == len(scatter["data"])
    assert "%{customdata[0]}" in scatter["data"][0]["hovertemplate"]  # hover: filename and cluster
    assert any("Suggested eps" in c.value for c in at.caption)
    at.selectbox(key="projection").set_value("tsne").run()
    assert not at.exception
    tsne = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "TSNE" in tsne["layout"]["title"]["text"] and "PCA" in scatter["layout"]["title"]["text"]
    assert tsne["data"][0]["x"] != scatter["data"][0]["x"]  # a different projection, same clusters
    assert [t["name"] for t in tsne["data"]] == [t["name"] for t in scatter["data"]]


def test_edits_survive_a_recluster(env, photos, cache):
    at = app_on(photos, "pages/review.py")
    collection = embed_folder(photos, Settings(), cache)
    g = group_photos(collection, Settings())
    ids = dict(zip(g.clusters.image_filename, g.clusters.cluster_id))
    victim = sorted(n for n, c in ids.items() if c == 0)[0]
    at.button(key=f"reject:{victim}").click().run()
    assert not at.exception
    saved = json.loads((env / "overrides.json").read_text())
    assert saved["rejected"] == [victim]
    for eps in (1.4, 0.6):  # loose enough to merge everything: the rejected face still stays out
        at.slider(key=EPS_KEY).set_value(eps).run()
        outliers = at.dataframe[-1].value
        assert outliers.loc[outliers.image_filename == victim, "reason"].tolist() == ["rejected"]
        assert not any(b.key == f"reject:{victim}" for b in at.button)  # no longer shown in a cluster

    n_before = len([m for m in at.markdown if m.value.startswith("#### cluster")])
    assert n_before >= 2
    at.selectbox(key="merge_a").set_value(0).run()
    at.selectbox(key="merge_b").set_value(1).run()
    at.button(key="merge").click().run()
    n_after = len([m for m in at.markdown if m.value.startswith("#### cluster")])
    assert n_after == n_before - 1
    at.text_input(key="rename_text").input("Alice").run()
    at.button(key="rename").click().run()
    assert any(m.value.startswith("#### cluster 0 - Alice") for m in at.markdown)
    # a later re-cluster at a tight eps keeps the merge and the name
    at.slider(key=EPS_KEY).set_value(0.3).run()
    assert any("Alice" in m.value for m in at.markdown)
    assert json.loads((env / "overrides.json").read_text())["names"][0]["name"] == "Alice"


def test_pair_labels_are_saved_and_scores_follow_the_sliders(env, photos, cache):
    at = app_on(photos, "pages/label_pairs.py")
    assert metric(at, "Labelled pairs (this photo set)") == "0 (0 same)"
    assert "within cluster" in at.subheader[0].value
    at.button(key="pair_same").click().run()
    labels = pd.read_csv(env / "pair_labels.csv")
    assert list(labels.columns) == ["image_a", "image_b", "same", "sha256_a", "sha256_b"]
    assert labels["same"].tolist() == [1]
    collection = embed_folder(photos, Settings(), cache)
    sha = dict(zip(collection.photos.image_filename, collection.photos.sha256))
    assert [sha[labels.image_a[0]], sha[labels.image_b[0]]] == [labels.sha256_a[0], labels.sha256_b[0]]
    g = group_photos(collection, Settings())
    ids = dict(zip(g.clusters.image_filename, g.clusters.cluster_id))
    assert ids[labels.image_a[0]] == ids[labels.image_b[0]] != -1  # the first pair shown was within a cluster
    assert metric(at, "Labelled pairs (this photo set)") == "1 (1 same)"
    assert metric(at, "Pairwise recall") == "1.000"  # a within-cluster pair, labelled same
    at.button(key="pair_skip").click().run()
    assert len(pd.read_csv(env / "pair_labels.csv")) == 1
    at.button(key="pair_diff").click().run()
    assert pd.read_csv(env / "pair_labels.csv")["same"].tolist() == [1, 0]
    at.slider(key=EPS_KEY).set_value(0.05).run()  # nothing merges: the same-pair is no longer together
    assert metric(at, "Pairwise recall") == "0.000"
    assert any("95% CI [0.000, 0.793]" in c.value for c in at.caption)  # Wilson interval of 0/1


def test_export_writes_the_cli_artifacts_and_one_zip(env, photos, cache, tmp_path):
    from pipeline.cli import main

    at = app_on(photos, "pages/export.py")
    at.slider(key=EPS_KEY).set_value(0.45).run()
    at.button(key="export").click().run()
    assert not at.exception, [e.value for e in at.exception]
    for name in ("clusters.csv", "outliers.csv", "viz_3d.png", "run.json", "grid_cluster_00.png"):
        assert (env / name).is_file(), name
    with zipfile.ZipFile(io.BytesIO(at.session_state["export_zip"])) as archive:
        assert {"clusters.csv", "outliers.csv", "viz_3d.png", "run.json"} <= set(archive.namelist())
        assert archive.read("clusters.csv") == (env / "clusters.csv").read_bytes()
    assert at.get("download_button")
    cli_out = tmp_path / "cli"
    assert main(["--images", str(photos), "--out", str(cli_out), "--quiet", "--cache", str(cache), "--eps", "0.45"]) == 0
    assert (env / "clusters.csv").read_bytes() == (cli_out / "clusters.csv").read_bytes()
    assert (env / "outliers.csv").read_bytes() == (cli_out / "outliers.csv").read_bytes()
    # a later slider move makes the zip stale: no download of artifacts that no longer match
    at.slider(key=EPS_KEY).set_value(0.5).run()
    assert not at.get("download_button")
    assert any("changed since the last export" in i.value for i in at.info)


@pytest.mark.skipif(model_weights_available("Facenet512"), reason="Facenet512 weights present: nothing to refuse")
def test_a_model_without_offline_weights_is_labelled_and_fails_with_a_sentence(env, photos, cache):
    from streamlit.testing.v1 import AppTest

    at = app_on(photos)
    assert "Facenet512 (weights missing: not usable offline)" in " ".join(c.value for c in at.sidebar.caption)
    assert "SFace (available)" in " ".join(c.value for c in at.sidebar.caption)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state["photo_folder"] = str(photos)
    at.session_state["model"] = "Facenet512"
    at.run()
    assert not at.exception
    assert any("Facenet512 weights are not available offline" in e.value for e in at.error)
