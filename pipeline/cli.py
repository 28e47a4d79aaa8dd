"""``cluster``: group face photos by person from the command line.

    cluster --images faces/ --out artifacts/ [--labels labels.csv] [--model SFace] ...
    cluster sweep --set genlift=faces/,labels.csv --set lfw=lfw/,lfw.csv --out sweep/
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .settings import ALGORITHMS, DETECTORS, METRICS, MODELS, PROJECTIONS, Settings, SettingsError

EXIT_OK, EXIT_USAGE, EXIT_NOTHING = 0, 2, 1


def _add_settings_options(p: argparse.ArgumentParser) -> None:
    d = Settings()
    p.add_argument("--model", choices=MODELS, default=d.model, help="recognition backbone (default %(default)s)")
    p.add_argument("--detector", choices=DETECTORS, default=d.detector, help="face detector (default %(default)s)")
    p.add_argument("--alignment", choices=("landmarks", "deepface"), default=None,
                   help="face alignment (default: landmarks for SFace, deepface for Facenet512)")
    p.add_argument("--algorithm", choices=ALGORITHMS, default=d.algorithm, help="clustering (default %(default)s)")
    p.add_argument("--metric", choices=METRICS, default=d.metric, help="distance (default %(default)s)")
    p.add_argument("--eps", type=float, default=None,
                   help="distance threshold in metric units (default: calibrated per model, 0.60 cosine for SFace)")
    p.add_argument("--min-samples", type=int, default=d.min_samples, help="smallest cluster / DBSCAN core size (default %(default)s)")
    p.add_argument("--split-ratio", type=float, default=d.split_ratio, help="agglomerative gap split ratio, 0 = off (default %(default)s)")
    p.add_argument("--min-face-confidence", type=float, default=d.min_face_confidence, help="detector score cut (default %(default)s)")
    p.add_argument("--flip-tta", action="store_true", help="also embed mirrored faces (slower, no measured gain)")
    p.add_argument("--projection", choices=PROJECTIONS, default=d.projection, help="3D projection (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    p.add_argument("--cache", default=None, help="embedding cache folder (default .cache/embeddings; 'none' disables)")


def _settings(a: argparse.Namespace) -> Settings:
    return Settings(model=a.model, detector=a.detector, alignment=a.alignment, algorithm=a.algorithm, metric=a.metric,
                    eps=a.eps, min_samples=a.min_samples, split_ratio=a.split_ratio,
                    min_face_confidence=a.min_face_confidence, flip_tta=a.flip_tta, projection=a.projection, seed=a.seed)


def _cache(a: argparse.Namespace):
    from .settings import default_cache_dir

    if a.cache is None:
        return default_cache_dir()
    return None if a.cache.lower() == "none" else Path(a.cache)


def _progress_bar(desc: str):
    from tqdm import tqdm

    bar = tqdm(total=0, desc=desc, unit="photo", file=sys.stderr, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)
        if done == total:
            bar.close()

    return update


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.getLogger("deepface").setLevel(logging.ERROR)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        if argv and argv[0] == "sweep":
            return _sweep(argv[1:])
        return _cluster(argv)
    except SettingsError as err:
        print(f"cluster: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("cluster: interrupted; earlier artifacts are unchanged", file=sys.stderr)
        return 130
    except Exception as err:  # a clear sentence instead of a traceback; details with CLUSTER_DEBUG=1
        if os.environ.get("CLUSTER_DEBUG"):
            raise
        from .weights import MissingWeights

        kind = "" if isinstance(err, (MissingWeights, FileNotFoundError, ValueError)) else f"{type(err).__name__}: "
        print(f"cluster: {kind}{err}", file=sys.stderr)
        return EXIT_NOTHING


def _cluster(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="cluster", description="Group face photos by person (run `cluster sweep -h` for the sweep).")
    p.add_argument("--images", required=True, help="folder of photos (jpg, png, webp, bmp, tif)")
    p.add_argument("--out", default="artifacts", help="artifacts folder (default %(default)s)")
    p.add_argument("--labels", default=None, help="labels CSV image_filename,person_id: print and record scores")
    p.add_argument("--pairs", default=None, help="hand-labelled pairs CSV image_a,image_b,same: print precision/recall")
    p.add_argument("--overrides", default=None,
                   help="reviewer edits (overrides.json from the app): must-link / cannot-link / rejected photos")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_settings_options(p)
    a = p.parse_args(argv)
    settings = _settings(a)
    from .photos import find_photos
    from .run import run
    from .weights import require_model_weights

    photos = find_photos(a.images)
    if not photos:
        subfolders = sorted(p.name for p in Path(a.images).iterdir() if p.is_dir() and not p.name.startswith("."))
        hint = f"; subfolders are not searched ({', '.join(subfolders[:3])}{', ...' if len(subfolders) > 3 else ''})" if subfolders else ""
        print(f"cluster: no photos (jpg, jpeg, png, webp, bmp, tif, heic) in {a.images}{hint}", file=sys.stderr)
        return EXIT_NOTHING
    require_model_weights(settings.model)  # fail before any work, with one clear sentence
    from .overrides import Overrides

    edits = Overrides.load(a.overrides) if a.overrides else None
    result = run(a.images, a.out, settings, _cache(a), a.labels, a.pairs,
                 progress=None if a.quiet else _progress_bar("embedding"), overrides=edits)
    _print_summary(result, a.out)
    if a.labels:
        _print_errors(result, a.labels)
    return EXIT_OK


def _print_errors(result, labels_path, limit: int = 10) -> None:
    """Name the wrongly merged clusters and split people (their photos are in grid_errors.png)."""
    from .evaluation import read_labels
    from .run import error_cases

    merges, splits = error_cases(result.grouping.clusters, read_labels(labels_path))
    for cid, people in merges[:limit]:
        names = [p if p != "-1" else "true outliers (-1)" for p in people]
        print(f"  merged: cluster {cid} holds {', '.join(names)}")
    for person, ids in splits[:limit]:
        print(f"  split: {person} spread over clusters {ids}")
    hidden = max(0, len(merges) - limit) + max(0, len(splits) - limit)
    if hidden:
        print(f"  ... and {hidden} more (see grid_errors.png)")


def _print_summary(result, out) -> None:
    c = result.record["counts"]
    t = result.record["timings_seconds"]
    print(f"{c['photos']} photos -> {c['clusters']} clusters, {c['outliers']} outliers "
          f"{c['outlier_reasons'] or ''} in {t['total']:.1f} s "
          f"({t['photos_embedded']} embedded, {t['photos_from_cache']} from cache)")
    if c["skipped_non_images"]:
        print(f"skipped {len(c['skipped_non_images'])} non-image files: {', '.join(c['skipped_non_images'][:5])}")
    s = result.scores.get("labels")
    if s:
        print(f"labels: pairwise P {s['pairwise_precision']:.4f} R {s['pairwise_recall']:.4f} F1 {s['pairwise_f1']:.4f} | "
              f"BCubed F1 {s['bcubed_f1']:.4f} | ARI {s['ari']:.4f} | outliers P {s['outlier_precision']:.3f} "
              f"R {s['outlier_recall']:.3f} | {s['n_clusters']} clusters")
        from .run import ERRORS_GRID

        if ERRORS_GRID in result.files:
            print(f"wrongly merged / split people: {Path(out) / ERRORS_GRID}")
    s = result.scores.get("pairs")
    if s:
        print(f"pairs ({s['n_pairs']}): precision {s['precision']:.3f} [{s['precision_ci'][0]:.3f}, {s['precision_ci'][1]:.3f}] "
              f"recall {s['recall']:.3f} [{s['recall_ci'][0]:.3f}, {s['recall_ci'][1]:.3f}]"
              + (f"; {s['n_ignored']} pairs ignored (photos absent or with other content)" if s["n_ignored"] else ""))
    print(f"artifacts: {', '.join(result.files)} in {out}")


def _parse_values(text: str) -> list[float]:
    """``0.3:0.8:0.05`` (start:stop:step, inclusive) or ``0.4,0.5,0.6``."""
    import numpy as np

    if ":" in text:
        start, stop, step = (float(v) for v in text.split(":"))
        if step <= 0 or stop < start:
            raise SettingsError(f"bad range {text!r}: use start:stop:step with step > 0")
        return [round(v, 6) for v in np.arange(start, stop + step / 2, step)]
    return [float(v) for v in text.split(",") if v.strip()]


def _sweep(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="cluster sweep", description="Quality vs eps/min_samples on labelled sets.")
    p.add_argument("--set", action="append", required=True, metavar="NAME=IMAGES,TRUTH.csv",
                   help="a labelled set: truth is a labels CSV (image_filename,person_id) or pairs CSV (image_a,image_b,same); repeatable")
    p.add_argument("--eps-values", default="0.30:0.90:0.025", help="eps grid, start:stop:step or a,b,c (default %(default)s)")
    p.add_argument("--min-samples-values", default="2", help="min_samples values, a,b,c (default %(default)s)")
    p.add_argument("--out", default="artifacts/sweep", help="folder for sweep.csv, sweep_margin.csv, sweep.png")
    p.add_argument("--quiet", action="store_true")
    _add_settings_options(p)
    a = p.parse_args(argv)
    settings = _settings(a)
    import pandas as pd

    from .artifacts import write_text
    from .collection import embed_folder
    from .evaluation import read_labels, read_pair_labels
    from .sweep import margin, plot_sweep, sweep

    sets = {}
    for spec in a.set:
        if "=" not in spec or "," not in spec:
            raise SettingsError(f"--set takes NAME=IMAGES_DIR,TRUTH.csv, got {spec!r}")
        name, rest = spec.split("=", 1)
        images, truth_path = rest.rsplit(",", 1)
        header = pd.read_csv(truth_path, nrows=0).columns
        kind = "pairs" if "image_a" in header else "labels"
        truth = read_pair_labels(truth_path) if kind == "pairs" else read_labels(truth_path)
        coll = embed_folder(images, settings, _cache(a), None if a.quiet else _progress_bar(f"embedding {name}"))
        sets[name] = (coll, truth, kind)
    table = sweep(sets, settings, _parse_values(a.eps_values), [int(v) for v in _parse_values(a.min_samples_values)])
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "sweep.csv", table.round(4).to_csv(index=False, lineterminator="\n"))
    margins = margin(table, settings.resolved_eps, settings.min_samples)
    write_text(out / "sweep_margin.csv", margins.round(4).to_csv(index=False, lineterminator="\n"))
    plot_sweep(table, settings.resolved_eps, out / "sweep.png", f"eps ({settings.metric} distance)")
    print(margins.round(4).to_string(index=False))
    print(f"wrote {out / 'sweep.csv'}, {out / 'sweep_margin.csv'}, {out / 'sweep.png'}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
