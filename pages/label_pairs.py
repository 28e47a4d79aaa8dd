"""Label pairs: two faces side by side, same / different / skip (keys S / D / K), saved to
pair_labels.csv; the current clustering's pairwise precision and recall on them, with 95% CIs."""
import streamlit as st

from pages import common
from pipeline import score_pairs
from pipeline.pairs import load_pair_labels, next_pair, pair_key, record_pair_label

collection, grouping, _ = common.photo_page("Label pairs")
path = common.pair_labels_path()
labels = load_pair_labels(path)

hashes = dict(zip(collection.photos["image_filename"], collection.photos["sha256"]))
scores = score_pairs(grouping.clusters, labels, hashes)
c1, c2, c3 = st.columns(3)
c1.metric("Labelled pairs (this photo set)", f"{scores.n_pairs} ({scores.n_same} same)")
c2.metric("Pairwise precision", f"{scores.precision:.3f}",
          help="of the labelled pairs the clustering puts together, the share that are the same person")
c2.caption(f"95% CI [{scores.precision_ci[0]:.3f}, {scores.precision_ci[1]:.3f}]")
c3.metric("Pairwise recall", f"{scores.recall:.3f}",
          help="of the labelled same-person pairs, the share the clustering puts together")
c3.caption(f"95% CI [{scores.recall_ci[0]:.3f}, {scores.recall_ci[1]:.3f}]")
st.caption(f"Scores follow the sidebar sliders. Labels are saved in `{path}` (image_a,image_b,same) - "
           "the file `cluster --pairs` evaluates. They measure the clustering; they do not change it "
           "(use Review & edit for that).")

skipped = st.session_state.setdefault("skipped_pairs", set())
done = {pair_key(a, b) for a, b in zip(labels["image_a"], labels["image_b"])} | skipped
names = grouping.faces["image_filename"].tolist()
step = len(done)
pair = next_pair(names, grouping.faces["cluster_id"].to_numpy(), grouping.distances, grouping.eps, done, step,
                 common.current_settings().seed)
if pair is None:
    st.success("Every pair has been labelled or skipped.")
    st.stop()
a, b, kind = pair
boxes = common.boxes_of(grouping)
ids = dict(zip(grouping.clusters["image_filename"], grouping.clusters["cluster_id"]))
index = {n: i for i, n in enumerate(names)}
distance = grouping.distances[index[a], index[b]]
st.subheader(f"Same person? ({kind} pair)")
left, right = st.columns(2)
for col, name in ((left, a), (right, b)):
    col.image(common.crop(str(collection.folder), name, boxes.get(name), 260), caption=name)
    col.caption("outlier" if ids[name] == -1 else f"cluster {ids[name]}")
st.caption(f"{common.current_settings().metric} distance {distance:.3f} (eps {grouping.eps:g})")


def label(first: str, second: str, same: bool | None) -> None:
    if same is None:
        st.session_state["skipped_pairs"].add(pair_key(first, second))
    else:
        record_pair_label(path, first, second, same, hashes)


b1, b2, b3 = st.columns(3)
b1.button("Same", key="pair_same", shortcut="s", on_click=label, args=(a, b, True), type="primary", width="stretch")
b2.button("Different", key="pair_diff", shortcut="d", on_click=label, args=(a, b, False), width="stretch")
b3.button("Skip", key="pair_skip", shortcut="k", on_click=label, args=(a, b, None), width="stretch")
if len(labels):
    with st.expander(f"Labelled pairs ({len(labels)})"):
        st.dataframe(labels, hide_index=True)
