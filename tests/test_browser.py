"""The app in a real browser (Debian Chromium driven by Playwright, no browser download): upload
20 genlift photos, move the eps slider with the keyboard, wait for the 3D chart, label a pair,
export, and compare the downloaded clusters.csv with the CLI's for the same photos and settings;
then take a face out of its cluster, re-cluster, and compare with ``cluster --overrides``."""
from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd
import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FACES = SHARED / "genlift" / "faces"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
N_PHOTOS = 20
WAIT = 120_000  # ms

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian chromium (apt-get install chromium; .ci/run does)")
    if not FACES.is_dir():
        pytest.skip(f"shared photos not found at {FACES} (expected ../shared/data beside the project)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python package) is not installed")
    root = tmp_path_factory.mktemp("browser")
    env = dict(os.environ, FACE_GROUPING_ARTIFACTS=str(root / "artifacts"), FACE_GROUPING_CACHE=str(root / "cache"),
               TF_CPP_MIN_LOG_LEVEL="3")
    port = _free_port()
    log = open(root / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(PROJECT / "app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.port", str(port)],
        cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"streamlit did not start: {(root / 'streamlit.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, root, env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _cli(env: dict, images: Path, out: Path, *extra: str) -> bytes:
    subprocess.run([sys.executable, "-m", "pipeline.cli", "--images", str(images), "--out", str(out), "--quiet",
                    "--cache", env["FACE_GROUPING_CACHE"], *extra], check=True, env=env, cwd=PROJECT, timeout=300)
    return (out / "clusters.csv").read_bytes()


def _export(page, root: Path, name: str, eps: str) -> dict[str, bytes]:
    page.get_by_role("link", name="Export").click()
    page.get_by_role("button", name="Write artifacts").click()
    page.get_by_text(f"outliers at eps {eps})").first.wait_for(timeout=WAIT)
    with page.expect_download(timeout=WAIT) as info:
        page.get_by_role("button", name="Download all as one zip").click()
    target = root / name
    info.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def _eps_caption(page, text: str) -> None:
    page.get_by_text(text).first.wait_for(timeout=WAIT)


def test_upload_slider_chart_pair_export_edit_in_a_real_browser(server):
    from playwright.sync_api import expect, sync_playwright

    url, root, env = server
    photos = root / "photos"
    photos.mkdir()
    for p in sorted(FACES.glob("*.jpg"))[:N_PHOTOS]:
        shutil.copy(p, photos / p.name)
    artifacts = root / "artifacts"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        try:
            page.goto(url)
            # 1. upload: the progress bar counts photos, then the page says it is ready
            uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
            uploader.wait_for(state="attached", timeout=WAIT)
            uploader.set_input_files(sorted(str(p) for p in photos.iterdir()))
            # cold cache: the progress bar shows the count and an ETA while embedding
            page.get_by_text(f"/{N_PHOTOS}, ETA").first.wait_for(timeout=WAIT)
            page.get_by_text("Ready: open").first.wait_for(timeout=WAIT)
            page.get_by_text(f"{N_PHOTOS} photos saved").first.wait_for(timeout=WAIT)
            uploads = list((artifacts / "uploads").iterdir())
            assert len(uploads) == 1 and len(list(uploads[0].iterdir())) == N_PHOTOS

            # 2. the 3D chart, then the eps slider moved with the keyboard re-clusters it
            page.get_by_role("link", name="Explore (3D)").click()
            page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT)
            _eps_caption(page, "eps 0.6, min_samples 2")
            slider = page.get_by_role("slider", name="eps (distance threshold)")
            slider.focus()
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            _eps_caption(page, "eps 0.65, min_samples 2")
            page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT)
            assert page.locator(".js-plotly-plot canvas").count() > 0  # the WebGL scene rendered
            assert page.get_by_text("outliers (").count() + page.get_by_text("cluster 0 (").count() > 0  # legend
            # hovering a point names the photo and its cluster; clicking one (2D view) shows that photo
            flat = page.locator(".js-plotly-plot").nth(1)
            flat.scroll_into_view_if_needed()
            default = sorted(p.name for p in photos.iterdir())[0]  # shown before any click
            for k in range(flat.locator("path.point").count()):
                point = flat.locator("path.point").nth(k).bounding_box()
                x, y = point["x"] + point["width"] / 2, point["y"] + point["height"] / 2
                page.mouse.move(x, y)
                page.locator(".hovertext").first.wait_for(timeout=WAIT)
                hovered = page.locator(".hovertext").first.text_content()
                name = hovered.split(".jpg")[0] + ".jpg"
                if name != default:
                    break
            assert name != default and ("cluster" in hovered or "outliers" in hovered)
            page.mouse.click(x, y)
            page.get_by_text(f"{name} - ").first.wait_for(timeout=WAIT)  # "<name> - cluster k" beside the photo

            # 3. label a pair from the keyboard (S = same)
            page.get_by_role("link", name="Label pairs").click()
            page.get_by_text("Same person?").first.wait_for(timeout=WAIT)
            page.get_by_role("button", name="Same").wait_for(timeout=WAIT)
            page.evaluate("document.activeElement && document.activeElement.blur()")  # keys go to the page
            page.keyboard.press("s")
            page.get_by_text("1 (1 same)").first.wait_for(timeout=WAIT)
            labels = pd.read_csv(artifacts / "pair_labels.csv")
            assert list(labels.columns)[:3] == ["image_a", "image_b", "same"] and labels["same"].tolist() == [1]

            # 4. export: the zip's clusters.csv is byte-identical to the CLI's on the same photos
            exported = _export(page, root, "export1.zip", "0.65")
            assert {"clusters.csv", "outliers.csv", "viz_3d.png", "run.json", "pair_labels.csv"} <= set(exported)
            eps = json.loads(exported["run.json"])["settings"]["eps"]
            assert abs(eps - 0.65) < 1e-9
            assert exported["clusters.csv"] == _cli(env, photos, root / "cli1", "--eps", repr(eps))
            assert exported["clusters.csv"] == (artifacts / "clusters.csv").read_bytes()

            # 5. "not this person": the face stays out after the sliders move; the CLI agrees
            clusters = pd.read_csv(io.BytesIO(exported["clusters.csv"]))
            victim = sorted(clusters.loc[clusters.cluster_id == 0, "image_filename"])[0]
            page.get_by_role("link", name="Review & edit").click()
            page.get_by_text("clusters, largest first").first.wait_for(timeout=WAIT)
            button = page.locator(f'[class*="st-key-reject-{victim.replace(".", "-")}"] button')
            if button.count() == 0:  # older key-class format: fall back to the nth "not this person"
                names = sorted(clusters.loc[clusters.cluster_id == 0, "image_filename"])
                button = page.get_by_role("button", name="not this person").nth(names.index(victim))
            button.first.click()
            page.get_by_text("1 rejected photos").first.wait_for(timeout=WAIT)
            slider = page.get_by_role("slider", name="eps (distance threshold)")
            slider.focus()
            for _ in range(40):  # far looser: without the edit the face would be clustered again
                page.keyboard.press("ArrowRight")
            expect(page.get_by_test_id("stSliderThumbValue").first).to_have_text("1.05", timeout=WAIT)
            _eps_caption(page, "eps 1.05, min_samples 2")  # the server re-clustered with it
            page.get_by_text(f"{victim}: rejected").first.wait_for(timeout=WAIT)
            edited = _export(page, root, "export2.zip", "1.05")
            saved = json.loads((artifacts / "overrides.json").read_text())
            assert saved["rejected"] == [victim]
            eps = json.loads(edited["run.json"])["settings"]["eps"]
            assert abs(eps - 1.05) < 1e-9
            assert f"{victim},-1\n".encode() in edited["clusters.csv"]
            assert edited["clusters.csv"] == _cli(env, photos, root / "cli2", "--eps", repr(eps),
                                                  "--overrides", str(artifacts / "overrides.json"))
        except Exception:
            page.screenshot(path=str(root / "failure.png"), full_page=True)
            print(f"screenshot: {root / 'failure.png'}; server log: {root / 'streamlit.log'}")
            raise
        finally:
            browser.close()
