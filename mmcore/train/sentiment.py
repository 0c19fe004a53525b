"""Training recipe of the built-in sentiment model (python -m mmcore.train sentiment).

Data:
  text:  mmcore/train/data/sentiment_train*.tsv, English sentences written for this project
         (equal numbers per label, many topics and registers; shipped under its licence).
         A fixed 3% is kept aside as the dev set for the log. tests/data/ holds the
         separately written held-out test set; this recipe never reads it.
  faces: ShapesWorld faces (spec section 4), freshly generated, seed-controlled.
  pairs: a random sentence with a random face; 70% both, 15% text only, 15% face only.
         The pair's label is the sign of the sum of polarities (models.sentiment.fused_target):
         agreeing pairs keep their label, a neutral side lets the other decide, and a
         positive and a negative side cancel to neutral. Every (text, face) label combination
         is equally likely, so a third of the pairs with both sides disagree.
Loss (weighted multi-task): w_text CE(text head) + w_image CE(image head)
  + w_fused * [NLL(late) + CE(early) + CE(hybrid)] + w_attention * KL(mouth || image pooling),
  each head on the rows it applies to; the text, early and hybrid terms with label smoothing,
  and 10% of each training sentence's words hidden (word dropout). The attention term pulls
  the image head's pooling weights onto the cells the mouth covers (the only part of a face
  that carries its label), so the map the UI draws is the evidence the head used.
"""
from __future__ import annotations

import csv
import functools
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from .. import lexicon, text_encoder
from ..adapters.sentiment import encoder_inputs
from ..models.processing import build_image_processor
from ..models.sentiment import LABELS, STRATEGIES, ShapesSentimentConfig, ShapesSentimentModel, fused_target
from ..shapesworld.faces import generate_face
from . import augment

DATA = Path(__file__).resolve().parent / "data"  # sentiment_train*.tsv


@dataclass(frozen=True)
class SentimentTrainConfig:
    out: str = ""  # model folder; "" -> mmcore/builtin/sentiment
    seed: int = 0  # seeds torch, the split and the face generator
    steps: int = 1000  # optimiser steps (dev accuracy stops rising by about 750)
    batch: int = 64  # pairs per step
    lr: float = 2e-3  # AdamW peak learning rate (linear warm-up, cosine decay)
    tuned_layers: int = 6  # top sentence-encoder layers fine-tuned and shipped in the model (all 6: 10.6M parameters)
    encoder_lr: float = 1e-4  # their peak learning rate: they start pretrained, the rest from scratch
    weight_decay: float = 0.05  # also pulls unused hashed-word embeddings back to zero
    faces: int = 4000  # face pool, drawn fresh each run from `seed`
    dev_fraction: float = 0.03  # sentences kept aside as the dev set, for the log only: the held-out
    # sets in tests/data judge a model, so the dev set need only show the curve (about 350 sentences)
    w_text: float = 1.0  # loss weights
    w_image: float = 1.0
    w_fused: float = 1.0
    w_attention: float = 0.3
    word_dropout: float = 0.1  # chance each word (VADER's) and word piece (the encoder's) is hidden from a
    # training sentence, so the reading rests on the whole sentence, not on one sentiment word
    label_smoothing: float = 0.1  # on the text, early and hybrid losses: the text side reaches a loss of
    # 0.002 otherwise, sure of every training sentence, and so of its mistakes
    eval_every: int = 250  # dev log interval
    threads: int = 0  # torch threads (0: torch's default)

    @property
    def folder(self) -> Path:
        return Path(self.out) if self.out else Path(__file__).resolve().parents[1] / "builtin" / "sentiment"


def load_sentences(path: Path = DATA) -> list[tuple[int, str]]:
    """(label id, text) rows of a `label<TAB>...<TAB>text` file, or of every sentiment_train*.tsv
    in a folder (text is the last column)."""
    files = sorted(path.glob("sentiment_train*.tsv")) if path.is_dir() else [path]
    rows = []
    for file in files:
        with open(file, newline="", encoding="utf-8") as f:
            rows += list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return [(LABELS.index(r[0]), r[-1]) for r in rows if r]


def split(rows: list, fraction: float, seed: int) -> tuple[list, list]:
    order = np.random.default_rng(seed).permutation(len(rows))
    cut = int(round(len(rows) * fraction))
    return [rows[i] for i in order[cut:]], [rows[i] for i in order[:cut]]


def face_pool(n: int, seed: int, grid: int = 15) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n faces as the processor gives them, (n, 3, 75, 75) in [-1, 1]; their labels (n,);
    and the mouth as a distribution over the grid x grid image tokens (n, grid**2)."""
    rng = np.random.default_rng(seed)
    faces = [generate_face(rng, LABELS[i % 3]) for i in range(n)]
    pixels = torch.from_numpy(np.stack([f.image() for f in faces])).permute(0, 3, 1, 2).float() / 127.5 - 1
    return pixels, torch.tensor([LABELS.index(f.label) for f in faces]), torch.stack([_mouth(f, grid) for f in faces])


def _mouth(face, grid: int) -> torch.Tensor:
    """The cells the mouth's polyline passes through, uniform (grid**2,)."""
    cell = 75 / grid
    m = torch.zeros(grid, grid)
    for x, y in face.mouth_points():
        m[min(grid - 1, int(y // cell)), min(grid - 1, int(x // cell))] = 1.0
    return (m / m.sum()).flatten()


def encoded(rows: list[tuple[int, str]], cfg: ShapesSentimentConfig, chunk: int = 64) -> dict[str, torch.Tensor]:
    """Every sentence's model inputs, computed once (the encoder's layers below the tuned
    ones are frozen)."""
    texts = [t for _, t in rows]
    enc, _ = lexicon.encode(texts, cfg.max_text_tokens)
    out = {k: torch.from_numpy(v) for k, v in enc.items()}
    parts = [encoder_inputs(texts[i:i + chunk], tuned_layers=cfg.tuned_layers) for i in range(0, len(texts), chunk)]
    width = max(p["encoder_states"].shape[1] for p in parts)
    out["encoder_states"] = torch.cat([F.pad(p["encoder_states"], (0, 0, 0, width - p["encoder_states"].shape[1]))
                                       for p in parts])
    out["encoder_mask"] = torch.cat([F.pad(p["encoder_mask"], (0, width - p["encoder_mask"].shape[1])) for p in parts])
    out["encoder_pooled"] = torch.cat([p["encoder_pooled"] for p in parts])
    out["labels"] = torch.tensor([y for y, _ in rows])
    return out


def batch(texts: dict, faces: tuple, cfg: SentimentTrainConfig, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Random pairs, with modalities dropped at random."""
    ti = torch.randint(len(texts["labels"]), (cfg.batch,), generator=g)
    fi = torch.randint(len(faces[1]), (cfg.batch,), generator=g)
    which = torch.rand(cfg.batch, generator=g)
    x = {k: v[ti] for k, v in texts.items() if k != "labels"}
    x.update(pixel_values=faces[0][fi], has_text=which >= 0.15, has_image=(which < 0.15) | (which >= 0.3))
    if cfg.word_dropout:
        x.update(drop_words(x["text_mask"], x["encoder_mask"], cfg.word_dropout, g))
    return {**x, "text_label": texts["labels"][ti], "image_label": faces[1][fi], "mouth": faces[2][fi]}


def drop_words(text_mask: torch.Tensor, encoder_mask: torch.Tensor, p: float,
               g: torch.Generator) -> dict[str, torch.Tensor]:
    """Word dropout: each VADER word (B, T) and word piece (B, P) hidden with chance p. The
    encoder's [CLS] piece stays, so a sentence never loses every piece."""
    keep_words = torch.rand(text_mask.shape, generator=g) >= p
    keep_pieces = torch.rand(encoder_mask.shape, generator=g) >= p
    keep_pieces[:, 0] = True
    return {"text_mask": text_mask * keep_words, "encoder_mask": encoder_mask * keep_pieces}


def losses(model: ShapesSentimentModel, b: dict, cfg: SentimentTrainConfig) -> dict[str, torch.Tensor]:
    out = model(**{k: v for k, v in b.items() if not k.endswith("_label") and k != "mouth"})
    target = fused_target(b["text_label"], b["image_label"], b["has_text"], b["has_image"])
    t, i = b["has_text"], b["has_image"]
    ce = functools.partial(F.cross_entropy, label_smoothing=cfg.label_smoothing)
    terms = {"text": ce(out.text_logits[t], b["text_label"][t]),
             "image": F.cross_entropy(out.image_logits[i], b["image_label"][i]),
             "late": F.nll_loss(out.late_logits, target)}  # log-probabilities of a fixed average
    terms.update({s: ce(getattr(out, f"{s}_logits"), target) for s in ("early", "hybrid")})
    terms["attention"] = -(b["mouth"][i] * out.image_attention[i].clamp_min(1e-8).log()).sum(-1).mean()
    return terms


def total(terms: dict[str, torch.Tensor], cfg: SentimentTrainConfig) -> torch.Tensor:
    fused = sum(terms[s] for s in STRATEGIES)
    return (cfg.w_text * terms["text"] + cfg.w_image * terms["image"] + cfg.w_fused * fused
            + cfg.w_attention * terms["attention"])


@torch.inference_mode()
def text_accuracy(model: ShapesSentimentModel, texts: dict) -> float:
    model.eval()
    n = len(texts["labels"])
    x = {k: v for k, v in texts.items() if k != "labels"}
    blank = torch.zeros(n, 3, model.config.image_size, model.config.image_size)
    out = model(**x, pixel_values=blank, has_image=torch.zeros(n, dtype=torch.bool))
    model.train()
    return float((out.text_logits.argmax(-1) == texts["labels"]).float().mean())


def optimiser(model: ShapesSentimentModel, cfg: SentimentTrainConfig) -> torch.optim.AdamW:
    """AdamW; the tuned encoder layers at their own rate, with BERT's usual decay."""
    tuned = [p for n, p in model.named_parameters() if n.startswith("encoder_top.")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("encoder_top.")]
    return torch.optim.AdamW([{"params": rest}, {"params": tuned, "lr": cfg.encoder_lr, "weight_decay": 0.01}],
                             lr=cfg.lr, weight_decay=cfg.weight_decay)


def train(cfg: SentimentTrainConfig, log=print):
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    config = ShapesSentimentConfig(tuned_layers=cfg.tuned_layers, encoder_layer=text_encoder.layer_config())
    model = ShapesSentimentModel(config)
    for layer, state in zip(model.encoder_top, text_encoder.top_layers(cfg.tuned_layers)):
        layer.load_state_dict(state)
    train_rows, dev_rows = split(load_sentences(), cfg.dev_fraction, cfg.seed)
    texts, dev = encoded(train_rows, config), encoded(dev_rows, config)
    faces = face_pool(cfg.faces, cfg.seed)
    opt = optimiser(model, cfg)
    warm = max(1, cfg.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(1.0, s / cfg.steps))))
    g, curve, start = torch.Generator().manual_seed(cfg.seed), [], time.time()
    model.train()
    for step in range(1, cfg.steps + 1):
        terms = losses(model, batch(texts, faces, cfg, g), cfg)
        opt.zero_grad()
        total(terms, cfg).backward()
        opt.step()
        sched.step()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            row = {"step": step, "seconds": round(time.time() - start, 1), "dev_text_acc": round(text_accuracy(model, dev), 4),
                   **{k: round(v.item(), 4) for k, v in terms.items()}}
            curve.append(row)
            log(str(row))
    return model.eval(), build_image_processor(config.image_size), curve


def save(model, processor, out: Path, cfg: SentimentTrainConfig, curve: list[dict]) -> None:
    augment.save_run(model, processor, out, asdict(cfg), curve)
