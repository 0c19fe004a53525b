"""Scores a built-in sentiment model folder through mmcore's real task path and writes its
card (README.md) and eval.json: `python -m mmcore.train sentiment --evaluate DIR`.

  text:  seven held-out sets of 300 English sentences each, 20 topics, written apart from the
         training set and from each other (tests/data/sentiment_heldout*.tsv; ABOUT says
         who wrote each and what it was used for), text only; VADER alone beside it.
  faces: fresh ShapesWorld faces (seed 2026) at 75 px and at 300 px anti-aliased.
  pairs: every held-out sentence with one fresh face of each label: agreeing pairs,
         pairs with one neutral side, and conflicting pairs (positive vs negative), per
         fusion strategy, against the label rule of models.sentiment.fused_target.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import lexicon, text_encoder
from ..models.sentiment import LABELS, STRATEGIES, ShapesSentimentModel
from ..shapesworld.faces import generate_face
from .augment import write_card_files
from .sentiment import SentimentTrainConfig, load_sentences

TESTS = Path(__file__).resolve().parents[2] / "tests" / "data"
HELDOUT = {name: TESTS / f"sentiment_{name}.tsv"
           for name in ("heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7")}
# Why each set can be trusted, and how far: a set that guided a choice scores that choice high.
ABOUT = {
    "heldout": "Written apart from the training sentences. Later training data (sentiment_train3.tsv) "
               "was aimed at error types first seen here, so this is the weakest of the five tests.",
    "heldout2": "Written by a writer who saw neither the training set nor the first set. "
                "Runs have been chosen on it since, which makes it slightly optimistic.",
    "heldout3": "Written by a writer who saw no other file of the project. Two models were chosen on it "
                "since, and the last training data (sentiment_train7.tsv) was aimed at error types first "
                "seen here, so it reads high.",
    "heldout4": "Written after sentiment_train6.tsv, by a writer who saw no other file of the project. It "
                "was the honest test of an earlier model; the last three models were chosen on it (with sets 3 "
                "and 5, and 6 for this one), so it reads slightly high.",
    "heldout5": "Written after sentiment_train7.tsv, by a writer who saw no other file of the project, with "
                "a good share of sarcasm, slang and sentiment told without sentiment words: the hardest set. "
                "It was the honest test of an earlier model; the last two models were chosen on it, and the "
                "briefs for sentiment_train8.tsv and sentiment_train9.tsv gave as examples a few phrases that "
                "occur in it, so it reads slightly high.",
    "heldout6": "Written after sentiment_train8.tsv, by a writer who opened no file of the project. It was the "
                "honest test of the previous model; this model was chosen on sets 3 to 6, and the brief for "
                "sentiment_train9.tsv quoted sentences the previous model misread here as examples of what to "
                "aim at (new sentences more than 0.8 alike to one of its sentences were dropped), so it reads high.",
    "heldout7": "Written after the last training data (sentiment_train9.tsv) was fixed, by a writer who opened "
                "no file of the project. It was never read to train, tune or choose a model (new training "
                "sentences more than 0.8 alike to one of its sentences were dropped by a script, unread): "
                "the honest score.",
}
POLARITY = {"positive": 1, "negative": -1, "neutral": 0}


def pair_label(text: str, face: str) -> str:
    total = POLARITY[text] + POLARITY[face]
    return "positive" if total > 0 else "negative" if total < 0 else "neutral"


def vader_label(text: str) -> str:
    """VADER's own rule: compound >= 0.05 positive, <= -0.05 negative, else neutral."""
    c = lexicon.read(text).scores["compound"]
    return "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"


def _task(folder: Path):
    from ..tasks.sentiment import SentimentTask, sentiment_specs

    return SentimentTask(sentiment_specs("auto", str(folder), "fp32", "cpu"))


def _run(task, items: list, chunk: int = 64) -> list:
    return [r for i in range(0, len(items), chunk) for r in task.run_batch(items[i:i + chunk])]


def evaluate(folder: Path, seed: int = 2026, n_faces: int = 600) -> dict:
    """{"faces": ..., "heldout": {"text", "pairs_<strategy>"}, "heldout2": {...}, ...} (HELDOUT)."""
    task, rng = _task(folder), np.random.default_rng(seed)
    faces = [generate_face(rng, LABELS[i % 3]) for i in range(n_faces)]
    small = _run(task, [(None, Image.fromarray(f.image())) for f in faces])
    large = _run(task, [(None, Image.fromarray(f.image(size=300))) for f in faces])
    out = {"faces": {"75px": _acc([r.image.label for r in small], [f.label for f in faces]),
                     "300px_antialiased": _acc([r.image.label for r in large], [f.label for f in faces])}}
    out["late_text_weight"] = _late_text_weight(folder)
    return out | {name: _set_scores(task, path, rng) for name, path in HELDOUT.items()}


def _late_text_weight(folder: Path) -> float:
    """Late fusion's learned w of the text: above 0.5 a sure text outvotes a sure face."""
    return round(float(torch.sigmoid(ShapesSentimentModel.from_pretrained(folder).late_weight)), 4)


def _set_scores(task, path: Path, rng: np.random.Generator) -> dict:
    """One held-out set: its sentences alone, and each with a fresh face of each label."""
    sentences = [(LABELS[y], t) for y, t in load_sentences(path)]
    text = _run(task, [(t, None) for _, t in sentences])
    pair_faces = [generate_face(rng, lab) for _ in sentences for lab in LABELS]
    pairs = [(t, Image.fromarray(f.image())) for (_, t), f in zip([s for s in sentences for _ in LABELS], pair_faces)]
    return _scores(sentences, text, pair_faces, _run(task, pairs))


def _acc(pred: list[str], gold: list[str]) -> float:
    return round(100 * float(np.mean([p == g for p, g in zip(pred, gold)])), 1) if gold else float("nan")


def _flipped(pred: list[str], gold: list[str]) -> float:
    """% of positive and negative sentences read as the opposite polarity: in an agreeing pair the
    pair rule turns each such flip into "neutral", so the joint heads' errors follow it."""
    polar = [(p, g) for p, g in zip(pred, gold) if g != "neutral"]
    return round(100 * float(np.mean([POLARITY[p] == -POLARITY[g] for p, g in polar])), 1)


def _misread(sentences: list[tuple[str, str]], pred: list[str]) -> list[dict]:
    """Every sentence the text head got wrong, for people studying what it misreads."""
    return [{"label": g, "read": p, "text": t} for (g, t), p in zip(sentences, pred) if p != g]


def _scores(sentences, text, pair_faces, fused) -> dict:
    gold = [y for y, _ in sentences]
    pred = [r.text.label for r in text]
    out = {"text": {"model": _acc(pred, gold), "vader_alone": _acc([vader_label(t) for _, t in sentences], gold),
                    **{f"model_{lab}": _acc([p for p, g in zip(pred, gold) if g == lab], [lab] * gold.count(lab))
                       for lab in LABELS}, "flipped": _flipped(pred, gold)},
           "misread": _misread(sentences, pred)}
    texts = [y for y in gold for _ in LABELS]
    kinds = ["agree" if t == f.label else "conflict" if {t, f.label} == {"positive", "negative"} else "one_neutral"
             for t, f in zip(texts, pair_faces)]
    want = [pair_label(t, f.label) for t, f in zip(texts, pair_faces)]
    for s in STRATEGIES:
        got = [next(x.label for x in r.fused if x.strategy == s) for r in fused]
        out[f"pairs_{s}"] = {k: _acc([g for g, kk in zip(got, kinds) if kk == k], [w for w, kk in zip(want, kinds) if kk == k])
                             for k in ("agree", "one_neutral", "conflict")} | {"all": _acc(got, want)}
    return out


def write_card(folder: Path) -> dict:
    return write_card_files(folder, evaluate(folder), _card)


def _card(s: dict, log: dict) -> str:
    cfg, curve, f = log["config"], log["curve"], s["faces"]
    return f"""---
license: apache-2.0
library_name: transformers
tags: [mmcore, sentiment, multimodal, shapesworld]
---
# mmcore built-in sentiment model

Text + face sentiment with three fusion heads (late, early, hybrid); architecture in
`mmcore/models/sentiment.py`, recipe in `mmcore/train/sentiment.py`. Its text side reads
VADER's per-word valences and the all-MiniLM-L6-v2 sentence encoder (`mmcore/text_encoder.py`):
{_encoder_split(cfg.get('tuned_layers', 0))}

Trained with `{_command(cfg)}`
({curve[-1]['seconds']:.0f} s on CPU).
Scores below: `python -m mmcore.train sentiment --evaluate <this folder>`, through mmcore's task path;
`eval.json` also lists every held-out sentence the text head misread (`misread`).

## Faces: 600 fresh faces
75 px: {f['75px']}%; 300 px anti-aliased: {f['300px_antialiased']}%.

Late fusion's learned weight of the text: w = {s['late_text_weight']} (above 0.5, a sure text outvotes a sure face).

Held-out sets of 300 English sentences each (20 topics, 100 per label), written apart from the
training sentences.
{"".join(_set_section(s, name) for name in HELDOUT if name in s)}"""


def _command(cfg: dict) -> str:
    """The run's training command: its thread count and every setting it changed from the recipe's
    defaults (a setting the run's log predates is left out)."""
    defaults = asdict(SentimentTrainConfig())
    changed = [f"--{k.replace('_', '-')} {v}" for k, v in cfg.items()
               if k not in ("out", "threads") and k in defaults and v != defaults[k]]
    return " ".join(["python -m mmcore.train sentiment", f"--threads {cfg.get('threads') or 2}", *changed])


def _encoder_split(tuned: int) -> str:
    below = text_encoder.LAYERS - tuned
    frozen = f"its word embeddings and bottom {below} layers" if below else "its word embeddings"
    return f"{frozen} frozen (not stored here), its top {tuned} layers fine-tuned and stored in this model."


def _set_section(s: dict, name: str) -> str:
    t = s[name]["text"]
    rows = "\n".join(f"| {k} | {s[name][f'pairs_{k}']['agree']} | {s[name][f'pairs_{k}']['one_neutral']} | "
                     f"{s[name][f'pairs_{k}']['conflict']} | {s[name][f'pairs_{k}']['all']} |" for k in STRATEGIES)
    return f"""
## tests/data/{HELDOUT[name].name}
{ABOUT[name]}

| text reader | accuracy % |
|---|---|
| this model (text head) | {t['model']} |
| VADER alone (compound >= 0.05 / <= -0.05) | {t['vader_alone']} |

Per label (this model): positive {t['model_positive']}, negative {t['model_negative']}, neutral {t['model_neutral']}.
Positive and negative sentences read as the opposite polarity: {t['flipped']}%.

Pairs: each sentence with a fresh face of each label (900 pairs). Label rule: the sign of the
sum of polarities (a positive and a negative side cancel to neutral).

| fusion | agree % | one side neutral % | conflict % | all % |
|---|---|---|---|---|
{rows}
"""
