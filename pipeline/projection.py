"""3D projection of embeddings for plots: PCA (default), UMAP or t-SNE, all seeded."""
from __future__ import annotations

import numpy as np

from .clustering import unit_rows
from .settings import PROJECTIONS, SettingsError


def project_3d(embeddings: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Project unit-normalised embeddings to (n, 3). Fewer than 4 points are padded with zeros."""
    if method not in PROJECTIONS:
        raise SettingsError(f"projection must be one of {', '.join(PROJECTIONS)}; got {method!r}")
    x = unit_rows(embeddings) if len(embeddings) else np.zeros((0, 3))
    n = len(x)
    if n < 4:
        out = np.zeros((n, 3))
        out[:, : min(3, x.shape[1] if n else 0)] = x[:, :3] if n else out[:, :0]
        return out
    if method == "pca" or n < 10:
        from sklearn.decomposition import PCA

        out = PCA(n_components=3, random_state=seed).fit_transform(x)
    elif method == "umap":
        import umap

        out = umap.UMAP(n_components=3, n_neighbors=min(15, n - 1), metric="cosine", random_state=seed,
                        n_jobs=1).fit_transform(x)
    else:
        from sklearn.manifold import TSNE

        out = TSNE(n_components=3, perplexity=min(30.0, (n - 1) / 3), metric="cosine", init="pca",
                   random_state=seed).fit_transform(x)
    # fix each axis' sign so the same data always gives the same picture
    signs = np.sign(out[np.argmax(np.abs(out), axis=0), range(3)])
    return out * np.where(signs == 0, 1, signs)
