"""Streamlit review app: ./run.sh app (binds 127.0.0.1, no usage statistics, offline).

A thin shell: page navigation and the sidebar settings shared by every page. Each page in
pages/ does one job; all detection, clustering, evaluation and artifact writing is in `pipeline`.
"""
import streamlit as st

from pages import common

st.set_page_config(page_title="Face grouping review", layout="wide")
navigation = st.navigation([
    st.Page("pages/photos.py", title="Photos", icon=":material/upload:", default=True),
    st.Page("pages/explore.py", title="Explore (3D)", icon=":material/scatter_plot:"),
    st.Page("pages/review.py", title="Review & edit", icon=":material/grid_view:"),
    st.Page("pages/label_pairs.py", title="Label pairs", icon=":material/compare:"),
    st.Page("pages/export.py", title="Export", icon=":material/download:"),
])
common.sidebar_controls()
navigation.run()
