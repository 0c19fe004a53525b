"""Training recipe of the built-in VQA model (python -m mmcore.train vqa).

Loss = CE(answer) + sum_k w_k * aux_k, the multi-task weights in TrainConfig:
  hop1 / hop2: cross-entropy between each hop's head-averaged attention and the mask of
               the object it should read (hop 1: the named object; hop 2: the closest /
               furthest one, else the named one again),
  same:        BCE of the per-token "same shape as the named object" score,
  density:     squared error of the object-density map (each object sums to 1),
  count:       smooth-L1 of the soft count.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from ..models import ShapesVQAConfig, ShapesVQAForQuestionAnswering, build_processor
from ..shapesworld.render import COLOR_NAMES
from ..shapesworld.vqa import ANSWERS
from . import augment
from . import vqa_data as data


@dataclass(frozen=True)
class TrainConfig:
    out: str = "mmcore/builtin/vqa"  # where the model folder is written
    seed: int = 0  # seeds torch and the scene generator
    scenes: int = 30000  # training scenes (each asked questions_per_scene questions a step)
    val_scenes: int = 100  # validation scenes for the per-epoch log (seed + 1)
    steps: int = 3200  # optimiser steps
    scenes_per_step: int = 32  # images per batch
    questions_per_scene: int = 8  # questions per image per batch
    lr: float = 2e-3  # peak AdamW learning rate (linear warm-up, cosine decay)
    warmup: int = 300  # warm-up steps
    weight_decay: float = 0.01  # AdamW weight decay
    unk_rate: float = 0.12  # chance a non-keyword question word becomes [UNK]
    canonical_rate: float = 0.4  # share of canonical (vs paraphrased) questions
    w_hop1: float = 1.0  # aux loss weights
    w_hop2: float = 1.0
    w_same: float = 0.5
    w_density: float = 1.0
    w_count: float = 0.2
    w_offset: float = 0.5  # only with centre_offsets
    centre_offsets: bool = True  # tokens take their object's centre as position (see the model)
    eval_every: int = 500  # steps between validation log lines (one "epoch")
    threads: int = 2  # torch CPU threads
    cache: str = ""  # folder to keep the generated training scenes in between runs


def _tokenize(processor, questions: list[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    enc = processor.tokenizer(questions, padding="max_length", truncation=True, max_length=max_len,
                              return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


def _drop_words(ids: torch.Tensor, mask: torch.Tensor, processor, rate: float, rng: np.random.Generator) -> torch.Tensor:
    """Replace non-keyword words by [UNK] so unseen words in paraphrases are survivable."""
    tok = processor.tokenizer
    protected = torch.tensor([tok.convert_tokens_to_ids(w) for w in data.KEYWORDS if w in tok.vocab]
                             + tok.all_special_ids)
    droppable = (mask == 1) & ~torch.isin(ids, protected)
    drop = torch.from_numpy(rng.random(ids.shape) < rate) & droppable
    return ids.masked_fill(drop, tok.unk_token_id)


class Batcher:
    """Samples (scenes x questions) batches with their targets from a SceneBank."""

    def __init__(self, bank: data.SceneBank, processor, cfg: TrainConfig, max_len: int) -> None:
        self.bank, self.processor, self.cfg, self.max_len = bank, processor, cfg, max_len
        self.templates = data.question_templates()
        self.rng = np.random.default_rng(cfg.seed + 7)

    def _question(self) -> tuple[str, str, str]:
        qtype = data.QUESTION_TYPES[self.rng.integers(6)]
        color = COLOR_NAMES[self.rng.integers(6)]
        pool = [t for q, t in self.templates if q == qtype]
        template = pool[0] if self.rng.random() < self.cfg.canonical_rate else pool[self.rng.integers(len(pool))]
        return qtype, color, template.format(c=color)

    def sample(self) -> dict[str, torch.Tensor]:
        idx = self.rng.choice(len(self.bank.scenes), self.cfg.scenes_per_step, replace=False)
        questions, tgts = [], []
        for i in idx:
            for _ in range(self.cfg.questions_per_scene):
                qtype, color, text = self._question()
                questions.append(text)
                tgts.append({**data.targets(self.bank.scenes[i], self.bank.coverage[i], qtype, color),
                             "qtype": data.QUESTION_TYPES.index(qtype)})
        ids, mask = _tokenize(self.processor, questions, self.max_len)
        batch = {k: torch.as_tensor(np.stack([t[k] for t in tgts])) for k in tgts[0]}
        batch.update(pixel_values=data.pixel_tensor(self.bank.images[idx]), attention_mask=mask,
                     input_ids=_drop_words(ids, mask, self.processor, self.cfg.unk_rate, self.rng))
        return batch


def losses(out, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The multi-task terms (see the module docstring); each a scalar."""
    att = lambda w: w.mean(1).clamp_min(1e-8).log()  # (Q, h, N) -> log of head mean
    extra = {}
    if out.offsets is not None:  # per image, so the first question of each image stands for it
        k = batch["offset"].shape[0] // out.offsets.shape[0]
        mask, target = batch["offset_mask"][::k].float(), batch["offset"][::k].float()
        err = ((out.offsets - target) ** 2).sum(-1)  # (B, N)
        extra["offset"] = (err * mask).sum() / mask.sum().clamp_min(1)
    return {**extra,
        "answer": F.cross_entropy(out.logits, batch["label"]),
        "hop1": -(batch["hop1"].float() * att(out.attentions[0])).sum(-1).mean(),
        "hop2": -(batch["hop2"].float() * att(out.attentions[1])).sum(-1).mean(),
        "same": F.binary_cross_entropy_with_logits(out.same_shape_logits, batch["same"].float()),
        "density": ((out.density - batch["density"].float()) ** 2).sum(-1).mean(),
        "count": F.smooth_l1_loss(out.count, batch["count"].float()),
    }


def question_processor():
    """The processor of the built-in VQA models: its vocabulary is the training wording."""
    texts = [t.format(c=c) for _, t in data.question_templates() for c in COLOR_NAMES]
    return build_processor(texts, image_size=75, max_length=40)


def build(cfg: TrainConfig):
    """A fresh processor and model."""
    processor = question_processor()
    config = ShapesVQAConfig(vocab_size=len(processor.tokenizer), id2label=dict(enumerate(ANSWERS)),
                             centre_offsets=cfg.centre_offsets)
    torch.manual_seed(cfg.seed)
    return processor, ShapesVQAForQuestionAnswering(config)


def train(cfg: TrainConfig, log=print) -> tuple[object, object, list[dict]]:
    torch.set_num_threads(cfg.threads)
    processor, model = build(cfg)
    weights = {"answer": 1.0, "hop1": cfg.w_hop1, "hop2": cfg.w_hop2, "same": cfg.w_same,
               "density": cfg.w_density, "count": cfg.w_count, "offset": cfg.w_offset}
    curve = run_steps(cfg, processor, model, losses, weights, Path(cfg.out), "train vqa", log)
    return model, processor, curve


def run_steps(cfg, processor, model, loss_terms, weights: dict[str, float], out: Path, desc: str,
              log=print) -> list[dict]:
    """The training loop of the VQA-style recipes (vqa, fusion): sample scenes x questions,
    minimise the weighted terms, log and checkpoint to out/checkpoint every eval_every steps."""
    t0 = time.time()
    bank = data.make_bank(cfg.scenes, cfg.seed, model.config.grid, cache=Path(cfg.cache) if cfg.cache else None)
    log(f"{cfg.scenes} training scenes ready in {time.time() - t0:.0f}s")
    batcher = Batcher(bank, processor, cfg, max_len=24)
    val = data.make_bank(cfg.val_scenes, cfg.seed + 1, model.config.grid, augment=False)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    curve: list[dict] = []
    bar = tqdm(range(cfg.steps), desc=desc, mininterval=5)
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = augment.cosine_lr(step, cfg.lr, cfg.warmup, cfg.steps)
        model.train()
        batch = batcher.sample()
        terms = loss_terms(model(batch["pixel_values"], batch["input_ids"], batch["attention_mask"]), batch)
        loss = sum(weights[k] * v for k, v in terms.items())
        augment.update(opt, model.parameters(), loss)
        bar.set_postfix(loss=f"{loss.item():.3f}", ans=f"{terms['answer'].item():.3f}")
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
            curve.append(augment.log_row(step + 1, t0, terms, evaluate_bank(model, processor, val)))
            log(json.dumps(curve[-1]))
            save(model, processor, out / "checkpoint", cfg, curve)
    return curve


def save(model, processor, out: Path, cfg, curve: list[dict]) -> None:
    """A model folder with fp16 weights and the training log (config and curve)."""
    augment.save_run(model, processor, out, asdict(cfg), curve)




# ----------------------------------------------------------------------------- evaluation

@torch.inference_mode()
def predict(model, processor, images: list[np.ndarray], questions: list[list[str]], scenes_per_batch: int = 8) -> list[list[str]]:
    """Answers through the real processor (a PIL image in, as a user's upload would be).

    Each image is encoded once for all its questions (the model reads K consecutive
    questions per image); every image must have the same number of questions.
    """
    from PIL import Image

    model.eval()
    answers: list[list[str]] = []
    for i in range(0, len(images), scenes_per_batch):
        pil = [Image.fromarray(im) for im in images[i:i + scenes_per_batch]]
        qs = [q for group in questions[i:i + scenes_per_batch] for q in group]
        pixels = processor.image_processor(pil, return_tensors="pt")["pixel_values"].to(model.dtype)
        enc = processor.tokenizer(qs, padding=True, truncation=True, max_length=model.config.max_question_tokens,
                                  return_tensors="pt")
        logits = model(pixels, enc["input_ids"], enc["attention_mask"]).logits
        flat = [model.config.id2label[int(j)] for j in logits.argmax(-1)]
        k = len(questions[i])
        answers += [flat[n:n + k] for n in range(0, len(flat), k)]
    return answers


def _accuracy(items: list[tuple[str, str, bool]]) -> dict[str, float]:
    """items: (qtype, family, correct) -> accuracy per type and per family, in %."""
    out: dict[str, float] = {}
    for key in sorted({q for q, _, _ in items} | {f for _, f, _ in items}):
        hits = [c for q, f, c in items if key in (q, f)]
        out[key] = round(100.0 * sum(hits) / len(hits), 2)
    return out


def evaluate_bank(model, processor, bank: data.SceneBank) -> dict[str, float]:
    from ..shapesworld.vqa import all_items

    return evaluate_items(model, processor, bank.images, [all_items(s) for s in bank.scenes])


def evaluate_items(model, processor, images, items_per_scene) -> dict[str, float]:
    from ..shapesworld.vqa import RELATIONAL

    preds = predict(model, processor, list(images), [[it.question for it in items] for items in items_per_scene])
    return _accuracy([(it.qtype, "relational" if it.qtype in RELATIONAL else "non-relational", p == it.answer)
                      for items, answers in zip(items_per_scene, preds) for it, p in zip(items, answers)])
