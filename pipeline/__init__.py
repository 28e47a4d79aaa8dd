"""Group unlabelled face photos by person: one package behind the CLI, the notebook and the app.

The whole API, in the order a run uses it::

    from pipeline import Settings, embed_folder, group_photos, write_artifacts, run
    collection = embed_folder("faces/", Settings())        # photos -> faces + embeddings (cached)
    grouping = group_photos(collection, Settings())         # faces -> clusters.csv rows + outliers
    result = write_artifacts(collection, grouping, Settings(), "artifacts/")
    # or all three at once: run("faces/", "artifacts/")
"""
from .clustering import cluster_distances, cluster_embeddings, distance_matrix, k_distances, knee_of
from .collection import FaceCollection, embed_folder
from .evaluation import read_labels, read_pair_labels, score_against_labels, score_labels, score_pairs
from .grouping import Grouping, group_photos
from .projection import project_3d
from .run import RunResult, run, write_artifacts
from .settings import Settings, SettingsError

__all__ = [
    "FaceCollection", "Grouping", "RunResult", "Settings", "SettingsError", "cluster_distances",
    "cluster_embeddings", "distance_matrix", "embed_folder", "group_photos", "k_distances", "knee_of",
    "project_3d", "read_labels", "read_pair_labels", "run", "score_against_labels", "score_labels",
    "score_pairs", "write_artifacts",
]
