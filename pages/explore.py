"""Explore: the live clustering as an interactive 3D scatter, a selected photo, the k-distance plot."""
import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from pages import common
from pipeline import k_distances, knee_of
from pipeline.overrides import cluster_names

collection, grouping, seconds = common.photo_page("Explore (3D)")
settings = common.current_settings()
clusters = grouping.clusters
n_clusters = int((clusters["cluster_id"].max() + 1)) if (clusters["cluster_id"] >= 0).any() else 0
c1, c2, c3, c4 = st.columns(4)
c1.metric("Photos", len(clusters))
c2.metric("Clusters", n_clusters)
c3.metric("Outliers", int((clusters["cluster_id"] == -1).sum()))
c4.metric("Re-cluster time", f"{seconds * 1000:.0f} ms")
st.caption(f"{settings.algorithm}, {settings.metric}, eps {grouping.eps:g}, min_samples {settings.min_samples}")

faces = grouping.faces
names = faces["image_filename"].tolist()
if len(names) == 0:
    st.warning("No face was found in any photo.")
    st.stop()
points = common.get_points(collection, settings.projection, settings.seed)
labels = faces["cluster_id"].to_numpy()
titles = cluster_names(clusters, common.load_overrides())
PALETTE = px.colors.qualitative.Dark24 + px.colors.qualitative.Light24
fig = go.Figure()
flat = go.Figure()  # 2D view of axes 1-2: Plotly reports clicks on 2D points, not on 3D ones
for cid in sorted(set(labels.tolist()), key=lambda c: (c == -1, c)):
    m = labels == cid
    label = "outliers" if cid == -1 else f"cluster {cid}" + (f" - {titles[cid]}" if cid in titles else "")
    style = dict(color="#9a9a9a", symbol="circle-open") if cid == -1 else dict(color=PALETTE[cid % len(PALETTE)])
    common_args = dict(mode="markers", name=f"{label} ({int(m.sum())})", legendgroup=str(cid),
                       customdata=np.array([[n, label] for n in np.array(names)[m]], dtype=object),
                       hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>")
    fig.add_trace(go.Scatter3d(x=points[m, 0], y=points[m, 1], z=points[m, 2], marker=dict(size=4, **style),
                               **common_args))
    flat.add_trace(go.Scatter(x=points[m, 0], y=points[m, 1], marker=dict(size=7, **style), showlegend=False,
                              **common_args))
fig.update_layout(height=620, margin=dict(l=0, r=0, t=30, b=0), legend=dict(itemsizing="constant"),
                  title=f"{settings.model} embeddings, {settings.projection.upper()}")
left, right = st.columns([3, 1])
with left:
    event = st.plotly_chart(fig, key="scatter", on_select="rerun", selection_mode="points")
with left:
    flat.update_layout(height=300, margin=dict(l=0, r=0, t=30, b=0), xaxis_title="axis 1", yaxis_title="axis 2",
                       title="Axes 1-2: click a point to show its photo")
    flat_event = st.plotly_chart(flat, key="scatter2d", on_select="rerun", selection_mode="points")


def picked_name(evt):
    try:
        points_ = evt.selection.points if evt is not None else []
    except AttributeError:
        return None
    for point in points_:
        data = point.get("customdata")
        if data:
            return data[0]
    return None


selected = picked_name(event) or picked_name(flat_event)
with right:
    st.subheader("Selected photo")
    choice = st.selectbox("Photo", names, index=names.index(selected) if selected in names else 0,
                          help="click a point in the scatter, or pick a file here")
    box = common.boxes_of(grouping).get(choice)
    cid = int(dict(zip(clusters["image_filename"], clusters["cluster_id"]))[choice])
    st.write(f"`{choice}` - " + ("outlier" if cid == -1 else f"cluster {cid}"))
    st.image(common.crop(str(collection.folder), choice, box, 160), caption="face crop")
    st.image(common.full_photo(str(collection.folder), choice), caption="photo")

st.subheader("k-distance plot")
k = max(1, settings.min_samples - 1)
kd = k_distances(grouping.distances, k)
if len(kd) >= 3:
    knee = knee_of(kd)
    kfig = go.Figure(go.Scatter(y=kd, mode="lines", name=f"{k}-NN distance"))
    kfig.add_hline(y=grouping.eps, line_dash="dash", line_color="red", annotation_text=f"eps {grouping.eps:g}")
    if knee == knee:
        kfig.add_hline(y=knee, line_dash="dot", line_color="green", annotation_text=f"suggested {knee:.3f}")
    kfig.update_layout(height=260, margin=dict(l=0, r=0, t=20, b=0), xaxis_title="faces, sorted",
                       yaxis_title=f"{settings.metric} distance")
    st.plotly_chart(kfig, key="kdist")
    if knee == knee:
        st.caption(f"Suggested eps (knee of the {k}-NN distances): {knee:.3f}. For average-linkage "
                   "agglomerative the calibrated default is usually better than the knee.")
