"""Detection, alignment and embedding, all through DeepFace's models.

``face_records(photo, settings)`` returns one :class:`FaceRecord` per detected face. The photo's
*primary* face (largest, nearest the centre) is the one its cluster is decided by.

Why our own alignment: DeepFace aligns by rotating the whole photo about the eyes and then pads
the face box to the model's input size. SFace was trained on faces warped by a similarity
transform of five landmarks onto a fixed 112x112 template (the ArcFace template), and with that
alignment its pairwise F1 on lfw_dev rose from 0.61 to 0.997 (notebook, "Alignment").
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .photos import Photo
from .settings import Settings
from .weights import activate, require_model_weights

# five-point template (right eye, left eye, nose tip, right and left mouth corners, image
# coordinates) of the 112x112 crops SFace/ArcFace were trained on
TEMPLATE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)
# eye positions as fractions of a face box, used when a detector finds the face but not its eyes
EYES_IN_BOX = ((0.31, 0.40), (0.69, 0.40))
# YuNet runs on photos scaled to this longest side, as DeepFace's YuNet wrapper does
DETECTION_SIDE = 640


@dataclass(frozen=True)
class FaceRecord:
    """One detected face. Box ``(x, y, w, h)`` and ``landmarks`` are in decoded-photo pixels."""

    face_index: int
    box: tuple[int, int, int, int]
    confidence: float
    landmarks: np.ndarray  # (k, 2) float32, k = 5 (yunet) or 2 (eyes only)
    embedding: np.ndarray  # (d,) float32


def primary_face_index(boxes: np.ndarray, image_size: tuple[int, int]) -> int:
    """Index of the largest face nearest the centre: area x (1 - distance/half-diagonal)^2.

    ``boxes`` is (n, 4) ``x, y, w, h``; ``image_size`` is (width, height).
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    width, height = image_size
    centre = np.array([width / 2, height / 2])
    face_centres = boxes[:, :2] + boxes[:, 2:] / 2
    distance = np.linalg.norm(face_centres - centre, axis=1) / np.linalg.norm(centre)
    score = boxes[:, 2] * boxes[:, 3] * np.clip(1 - distance, 0, 1) ** 2
    return int(np.argmax(score))


def face_records(photo: Photo, settings: Settings) -> list[FaceRecord]:
    """Detect, align and embed every face of ``photo`` (at most ``settings.max_faces_per_photo``,
    largest first). An empty list means no face was found."""
    bgr = np.ascontiguousarray(photo.pixels[:, :, ::-1])
    if settings.resolved_alignment == "deepface":
        return _deepface_records(bgr, settings)
    detections = detect_faces(bgr, settings.detector, settings.min_face_confidence)
    detections = sorted(detections, key=lambda d: -d[0][2] * d[0][3])[: settings.max_faces_per_photo]
    if not detections:
        return []
    model = recognition_model(settings.model)
    size = model.input_shape[0]
    crops = [align_face(bgr, landmarks, size) for _, _, landmarks in detections]
    embeddings = embed_crops(model, crops, settings.flip_tta)
    return [
        FaceRecord(i, tuple(int(v) for v in box), float(conf), landmarks.astype(np.float32), embeddings[i])
        for i, (box, conf, landmarks) in enumerate(detections)
    ]


def detect_faces(bgr: np.ndarray, detector: str, min_confidence: float) -> list[tuple]:
    """Return ``[(box, confidence, landmarks)]`` for faces scored >= ``min_confidence``.

    ``yunet`` gives five landmarks; DeepFace's other detectors give the two eyes.
    """
    if detector == "yunet":
        return _detect_yunet(bgr, min_confidence)
    regions = detector_model(detector).detect_faces(bgr)
    out = []
    for r in regions:
        confidence = float(r.confidence) if r.confidence is not None else 1.0
        if confidence < min_confidence:
            continue
        if r.left_eye is not None and r.right_eye is not None:
            # DeepFace names eyes from the person's point of view: right_eye is on the image left
            landmarks = np.array([r.right_eye, r.left_eye], dtype=np.float32)
        else:
            # the Haar detector often finds no eyes: place them where they sit in a face box
            landmarks = np.array([[r.x + EYES_IN_BOX[0][0] * r.w, r.y + EYES_IN_BOX[0][1] * r.h],
                                  [r.x + EYES_IN_BOX[1][0] * r.w, r.y + EYES_IN_BOX[1][1] * r.h]], dtype=np.float32)
        out.append(((r.x, r.y, r.w, r.h), confidence, landmarks))
    return out


def _detect_yunet(bgr: np.ndarray, min_confidence: float) -> list[tuple]:
    net = detector_model("yunet").model  # DeepFace's cv2.FaceDetectorYN
    height, width = bgr.shape[:2]
    ratio = min(1.0, DETECTION_SIDE / max(height, width))
    small = cv2.resize(bgr, (round(width * ratio), round(height * ratio)), interpolation=cv2.INTER_AREA) if ratio < 1 else bgr
    net.setInputSize((small.shape[1], small.shape[0]))
    net.setScoreThreshold(float(min_confidence))
    _, faces = net.detect(small)
    if faces is None:
        return []
    out = []
    for row in faces:
        row = row.astype(np.float64)
        x, y, w, h = (row[:4] / ratio).tolist()
        x0, y0 = max(0.0, x), max(0.0, y)
        box = (round(x0), round(y0), round(min(w - (x0 - x), width - x0)), round(min(h - (y0 - y), height - y0)))
        if box[2] < 2 or box[3] < 2:
            continue
        landmarks = (row[4:14] / ratio).reshape(5, 2).astype(np.float32)
        out.append((box, float(row[14]), landmarks))
    return out


def align_face(bgr: np.ndarray, landmarks: np.ndarray, size: int) -> np.ndarray:
    """Warp the face onto the template by a similarity transform of its landmarks (5 or the 2 eyes)."""
    template = TEMPLATE_112[: len(landmarks)] * (size / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), template, method=cv2.LMEDS)
    if matrix is None:  # degenerate landmarks: fall back to the plain least-squares fit
        matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), template, method=0)
    return cv2.warpAffine(bgr, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def embed_crops(model, crops: list[np.ndarray], flip_tta: bool = False) -> np.ndarray:
    """Embed aligned BGR uint8 crops with a DeepFace recognition model; returns (n, d) float32."""
    batch = np.stack(crops).astype(np.float32) / 255.0  # DeepFace models take BGR in [0, 1]
    embeddings = _forward(model, batch)
    if flip_tta:
        embeddings = _unit(embeddings) + _unit(_forward(model, batch[:, :, ::-1].copy()))
    return embeddings.astype(np.float32)


def _forward(model, batch: np.ndarray) -> np.ndarray:
    out = np.asarray(model.forward(batch), dtype=np.float32)
    return out.reshape(len(batch), -1)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _deepface_records(bgr: np.ndarray, settings: Settings) -> list[FaceRecord]:
    DeepFace = deepface_api(settings.model)
    recognition_model(settings.model)  # checks the weights first: never a download
    detector_model(settings.detector)  # places YuNet offline first; DeepFace would try to download it
    os.environ["yunet_score_threshold"] = str(settings.min_face_confidence)
    try:
        results = DeepFace.represent(
            bgr, model_name=settings.model, detector_backend=settings.detector,
            enforce_detection=True, align=True,
        )
    except ValueError as err:
        if "Face could not be detected" in str(err):
            return []
        raise
    records = []
    for i, r in enumerate(sorted(results, key=lambda r: -r["facial_area"]["w"] * r["facial_area"]["h"])):
        if i >= settings.max_faces_per_photo or r["face_confidence"] < settings.min_face_confidence:
            continue
        area = r["facial_area"]
        eyes = [area.get("right_eye"), area.get("left_eye")]
        landmarks = np.array(eyes, dtype=np.float32) if all(e is not None for e in eyes) else np.zeros((0, 2), np.float32)
        records.append(FaceRecord(len(records), (area["x"], area["y"], area["w"], area["h"]), float(r["face_confidence"]), landmarks, np.asarray(r["embedding"], np.float32)))
    return records


@lru_cache(maxsize=None)
def recognition_model(model_name: str):
    """DeepFace's recognition model, built once per process (weights checked first, never downloaded)."""
    activate()
    require_model_weights(model_name)
    return deepface_api(model_name).build_model(task="facial_recognition", model_name=model_name)


@lru_cache(maxsize=None)
def detector_model(detector: str):
    """DeepFace's face detector, built once per process."""
    activate()
    if detector == "yunet":
        from .weights import ensure_offline_weights

        ensure_offline_weights()
    return deepface_api().build_model(task="face_detector", model_name=detector)


def deepface_api(model_name: str | None = None):
    """Import ``deepface.DeepFace`` on the right backend engine for ``model_name``.

    SFace runs on onnxruntime whatever the engine, and importing TensorFlow for it would cost
    ~3 s and ~600 MB, so onnx is the default engine; Facenet512 needs TensorFlow, and DeepFace
    resolves its engine lazily, so switching is a matter of resetting that choice.
    """
    activate()  # DeepFace creates its weights folder on import: never in the user's home
    from deepface.commons import backend_utils

    if model_name == "Facenet512":
        if backend_utils._backend_engine != "tensorflow":
            os.environ["DEEPFACE_BACKEND_ENGINE"] = "tensorflow"
            backend_utils._backend_engine = None
    elif backend_utils._backend_engine is None:
        os.environ.setdefault("DEEPFACE_BACKEND_ENGINE", "onnx")
    from deepface import DeepFace

    return DeepFace
