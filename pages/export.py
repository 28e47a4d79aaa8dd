"""Export: write clusters.csv, outliers.csv, viz_3d.png, grids and run.json with the same code as the
CLI and run.sh (pipeline.write_artifacts), then offer everything as one zip."""
import streamlit as st

from pages import common
from pipeline import write_artifacts
from pipeline.overrides import OVERRIDES_JSON, write_cluster_names
from pipeline.pairs import PAIR_LABELS_CSV, load_pair_labels
from pipeline.uploads import zip_files

collection, grouping, _ = common.photo_page("Export")
settings = common.current_settings()
out = common.artifacts_dir()
edits = common.load_overrides()
st.write(f"Writes into `{out}` with the current settings: {settings.model}/{settings.detector}, "
         f"{settings.algorithm}, {settings.metric}, eps {grouping.eps:g}, min_samples {settings.min_samples}, "
         f"{settings.projection.upper()} projection.")
if not edits.is_empty():
    st.info(f"Reviewer edits from {OVERRIDES_JSON} are applied. The same result from the command line: "
            f"`cluster --images {collection.folder} --out {out} --eps {grouping.eps:g} --min-samples "
            f"{settings.min_samples} --algorithm {settings.algorithm} --metric {settings.metric} "
            f"--overrides {common.overrides_path()}`")

signature = (str(collection.folder), repr(settings), repr(edits.as_dict()), str(out))
if st.button("Write artifacts", type="primary", key="export"):
    pairs_path = common.pair_labels_path()
    pairs = pairs_path if len(load_pair_labels(pairs_path)) else None
    with st.spinner("Writing artifacts..."):
        result = write_artifacts(collection, grouping, settings, out, pairs=pairs)
        files = list(result.files)
        named = write_cluster_names(out, grouping.clusters, edits)
        files += [named] if named else []
        files += [f for f in (OVERRIDES_JSON, PAIR_LABELS_CSV) if (out / f).is_file()]
        st.session_state["export_zip"] = zip_files(out, files)
        st.session_state["export_files"] = files
    c = result.record["counts"]
    st.session_state["export_summary"] = (f"{c['photos']} photos -> {c['clusters']} clusters, "
                                          f"{c['outliers']} outliers at eps {grouping.eps:g}")
    st.session_state["export_signature"] = signature
if "export_zip" in st.session_state and st.session_state.get("export_signature") != signature:
    st.info("Settings, edits or photos changed since the last export: write the artifacts again to download them.")
elif "export_zip" in st.session_state:
    st.success(f"Wrote {', '.join(st.session_state['export_files'])} to {out} "
               f"({st.session_state['export_summary']})")
    st.download_button("Download all as one zip", st.session_state["export_zip"], file_name="artifacts.zip",
                       mime="application/zip", key="download")
