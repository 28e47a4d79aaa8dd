"""Photos: choose the input (upload photos, one zip, or a folder on disk) and embed it."""
from pathlib import Path

import streamlit as st

from pages import common
from pipeline.photos import IMAGE_SUFFIXES
from pipeline.uploads import save_uploads

common.ensure_sidebar()
st.title("Photos")
st.session_state["artifacts_dir"] = st.text_input(
    "Artifacts folder (exports, edits, pair labels, uploads)", value=str(common.artifacts_dir()))

upload_tab, folder_tab = st.tabs(["Upload photos or a zip", "Folder on disk"])
with upload_tab:
    files = st.file_uploader("Photos or one zip archive", type=[s.lstrip(".") for s in IMAGE_SUFFIXES] + ["zip"],
                             accept_multiple_files=True, key="uploads", max_upload_size=1024)
    if files:
        signature = tuple((f.name, f.size) for f in files)
        if st.session_state.get("upload_signature") != signature:
            report = save_uploads([(f.name, f.getvalue()) for f in files], common.artifacts_dir())
            st.session_state["upload_signature"] = signature
            st.session_state["upload_report"] = report
            if report.folder is not None:
                st.session_state["photo_folder"] = str(report.folder)
        report = st.session_state.get("upload_report")
        if report is not None:
            if report.folder is not None:
                st.success(f"{len(report.photos)} photos saved to {report.folder}")
            else:
                st.error("No photo in this upload.")
            if report.refused:
                st.warning("Refused:\n\n" + "\n".join(f"- {m}" for m in report.messages))
            if report.non_images:
                st.info(f"{len(report.non_images)} files are not images and were skipped: "
                        + ", ".join(report.non_images[:30]) + (" ..." if len(report.non_images) > 30 else ""))
with folder_tab:
    typed = st.text_input("Folder of photos", value=st.session_state.get("photo_folder", ""))
    if st.button("Use this folder"):
        if Path(typed).expanduser().is_dir():
            st.session_state["photo_folder"] = str(Path(typed).expanduser().resolve())
        else:
            st.error(f"Not a folder: {typed}")

folder = common.photo_folder()
if folder is None:
    st.info("No photos chosen yet.")
    st.stop()
st.write(f"**Photos:** `{folder}`")
collection = common.get_collection()
if collection is None:
    st.stop()
photos = collection.photos
counts = photos["status"].value_counts()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Photos", len(photos))
c2.metric("With a face", int(counts.get("ok", 0)))
c3.metric("No face", int(counts.get("no_face", 0)))
c4.metric("Unreadable", int(counts.get("unreadable", 0)))
t = collection.timings
st.caption(f"{t.get('photos_embedded', 0)} embedded, {t.get('photos_from_cache', 0)} from the cache, "
           f"{t.get('embed_seconds', 0):.1f} s")
problems = photos[photos["status"] != "ok"][["image_filename", "status", "detail"]]
if len(problems):
    st.dataframe(problems, hide_index=True)
if collection.skipped_files:
    st.caption("Skipped (not images): " + ", ".join(collection.skipped_files))
st.success("Ready: open **Explore (3D)**, **Review & edit**, **Label pairs** or **Export**.", icon="✅")
