"""Review & edit: every cluster as face crops (largest first), the outliers with reasons, and the
edits (rename, merge, "not this person", same/different pair) saved to overrides.json."""
import streamlit as st

from pages import common
from pipeline.overrides import cluster_names

PER_ROW = 6

collection, grouping, _ = common.photo_page("Review & edit")
folder = str(collection.folder)
clusters = grouping.clusters
boxes = common.boxes_of(grouping)
edits = common.load_overrides()
titles = cluster_names(clusters, edits)
ids = sorted(int(c) for c in clusters["cluster_id"].unique() if c >= 0)  # 0 is the largest
members = {cid: clusters.loc[clusters.cluster_id == cid, "image_filename"].tolist() for cid in ids}


def title_of(cid: int) -> str:
    return f"cluster {cid}" + (f" - {titles[cid]}" if cid in titles else "") + f" ({len(members.get(cid, []))})"


def apply(change, *args) -> None:
    """Load, change and save the edits (a button callback: the rerun then re-clusters with them)."""
    current = common.load_overrides()
    change(current, *args)
    current.save(common.overrides_path())


with st.expander("Edits", expanded=True):
    st.caption(f"Saved in `{common.overrides_path()}` and applied on every re-clustering: "
               f"{len(edits.must_link)} must-links, {len(edits.cannot_link)} cannot-links, "
               f"{len(edits.rejected)} rejected photos, {len(edits.names)} names.")
    if ids:
        c1, c2, c3 = st.columns([2, 2, 1])
        target = c1.selectbox("Cluster", ids, format_func=title_of, key="rename_cluster")
        new_name = c2.text_input("New name", key="rename_text")
        c3.button("Rename", key="rename", disabled=not new_name.strip(),
                  on_click=apply, args=(lambda o, m, n: o.rename(m, n), members.get(target, []), new_name))
    if len(ids) >= 2:
        c1, c2, c3 = st.columns([2, 2, 1])
        a = c1.selectbox("Merge cluster", ids, format_func=title_of, key="merge_a")
        b = c2.selectbox("with cluster", [c for c in ids if c != a], format_func=title_of, key="merge_b")
        c3.button("Merge", key="merge", on_click=apply,
                  args=(lambda o, x, y: o.merge(x, y), members.get(a, []), members.get(b, [])))
    names = grouping.faces["image_filename"].tolist()
    if len(names) >= 2:
        c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
        pa = c1.selectbox("Photo", names, key="pair_a")
        pb = c2.selectbox("and photo", [n for n in names if n != pa], key="pair_b")
        c3.button("Same person", key="edit_same", on_click=apply, args=(lambda o, x, y: o.mark_pair(x, y, True), pa, pb))
        c4.button("Different", key="edit_diff", on_click=apply, args=(lambda o, x, y: o.mark_pair(x, y, False), pa, pb))
    if edits.rejected:
        c1, c2 = st.columns([4, 1])
        back = c1.selectbox("Rejected photos", edits.rejected, key="restore_pick")
        c2.button("Restore", key="restore", on_click=apply, args=(lambda o, x: o.restore(x), back))
    if st.button("Clear all edits", key="clear_edits", disabled=edits.is_empty() and not edits.names):
        from pipeline.overrides import Overrides

        Overrides().save(common.overrides_path())
        st.rerun()

st.subheader(f"{len(ids)} clusters, largest first")
st.caption(f"{common.current_settings().algorithm}, eps {grouping.eps:g}, "
           f"min_samples {common.current_settings().min_samples}")
for cid in ids:
    st.markdown(f"#### {title_of(cid)}")
    files = members[cid]
    for start in range(0, len(files), PER_ROW):
        cols = st.columns(PER_ROW)
        for col, name in zip(cols, files[start:start + PER_ROW]):
            col.image(common.crop(folder, name, boxes.get(name)), caption=name)
            col.button("not this person", key=f"reject:{name}", on_click=apply, args=(lambda o, x: o.reject(x), name),
                       help=f"take {name} out of cluster {cid}: it stays an outlier whatever the sliders say")
    if st.toggle("Show a full photo", key=f"show_full:{cid}"):
        pick = st.selectbox("Photo", files, key=f"full:{cid}")
        st.image(common.full_photo(folder, pick), caption=pick, width=480)

st.subheader(f"Outliers ({len(grouping.outliers)})")
outliers = grouping.outliers
if len(outliers):
    rows = list(outliers.itertuples())
    for start in range(0, len(rows), PER_ROW):
        cols = st.columns(PER_ROW)
        for col, r in zip(cols, rows[start:start + PER_ROW]):
            col.image(common.crop(folder, r.image_filename, boxes.get(r.image_filename)),
                      caption=f"{r.image_filename}: {r.reason}")
    st.dataframe(outliers, hide_index=True)
