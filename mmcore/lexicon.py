"""Reading English text with VADER: per-word valence after its rules, and sentence scores.

VADER (Hutto & Gilbert, 2014; the `vaderSentiment` package, MIT, also shipped inside
NLTK) is a hand-built lexicon of ~7,500 words, emoticons and emoji rated -4..+4 by
people, plus rules for negation ("not good"), boosters ("very"), ALL CAPS, "but" and
idioms. It needs no download and reads any English sentence, so the built-in sentiment
model uses it as its text encoder's input: each word's rule-adjusted valence becomes that
token's features, and the model learns on top of them (mmcore.models.sentiment).

The per-word loop below is VADER's own `polarity_scores`, kept word by word so that the
UI can show which words carried the sentiment.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .errors import InputError, ModelLoadError

MAX_TEXT_CHARS = 1000  # longer texts are refused, not silently cut
SCALE = 4.0  # VADER's valence range is -4..+4


@dataclass(frozen=True)
class TextReading:
    words: tuple[str, ...]  # VADER's tokens (words, emoticons; emoji spelled out), in order
    valences: tuple[float, ...]  # per word, -4..+4 after negation / booster / caps / "but" rules
    raw: tuple[float, ...]  # per word, the lexicon's own rating (0 when not in the lexicon)
    scores: dict[str, float]  # VADER's sentence scores: neg, neu, pos (shares) and compound (-1..1)


@functools.lru_cache(maxsize=1)
def analyzer():
    """VADER's analyzer, built once (it parses its lexicon files); clear error if missing."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as e:
        raise ModelLoadError("the built-in text sentiment needs the vaderSentiment package "
                             "(pip install vaderSentiment==3.3.2; it is in requirements.txt)") from e
    return SentimentIntensityAnalyzer()


def clean_text(text: object) -> str:
    """Collapse whitespace; refuse non-strings and over-long texts with what is accepted."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise InputError(f"the text must be a string, got {type(text).__name__}")
    text = " ".join(text.split())
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"the text is {len(text):,} characters long; at most {MAX_TEXT_CHARS:,} are accepted")
    return text


def read(text: str) -> TextReading:
    """VADER's polarity_scores, keeping each word's valence."""
    from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentiText

    sia = analyzer()
    text = _spell_emoji(sia, text)
    sentitext = SentiText(text)
    words = sentitext.words_and_emoticons
    valences: list[float] = []
    for i, item in enumerate(words):
        is_kind_of = i < len(words) - 1 and item.lower() == "kind" and words[i + 1].lower() == "of"
        if item.lower() in BOOSTER_DICT or is_kind_of:
            valences.append(0.0)
            continue
        valences = sia.sentiment_valence(0, sentitext, item, i, valences)
    valences = sia._but_check(words, valences)
    scores = sia.score_valence(list(valences), text)
    raw = tuple(float(sia.lexicon.get(w.lower(), 0.0)) for w in words)
    return TextReading(tuple(words), tuple(float(v) for v in valences), raw, {k: float(v) for k, v in scores.items()})


def _spell_emoji(sia, text: str) -> str:
    """Emoji -> their names (VADER's own first step), so the lexicon can rate them."""
    out, prev_space = [], True
    for ch in text:
        if ch in sia.emojis:
            out.append(("" if prev_space else " ") + sia.emojis[ch])
            prev_space = False
        else:
            out.append(ch)
            prev_space = ch == " "
    return "".join(out).strip()


# Per-token features (TOKEN_FEATURES columns) and per-sentence features (SENTENCE_FEATURES).
TOKEN_FEATURES = ("valence", "lexicon", "negation", "booster", "contrast", "all_caps", "position", "rated")
SENTENCE_FEATURES = ("compound", "pos", "neg", "neu", "exclamations", "question", "max_valence", "min_valence")


def token_features(reading: TextReading) -> np.ndarray:
    """(T, len(TOKEN_FEATURES)) float32; valences scaled to -1..1."""
    from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE

    n = len(reading.words)
    rows = []
    for i, (w, v, r) in enumerate(zip(reading.words, reading.valences, reading.raw)):
        low = w.lower()
        rows.append([v / SCALE, r / SCALE, float(low in NEGATE or low.endswith("n't")), float(low in BOOSTER_DICT),
                     float(low in ("but", "however", "although", "though")), float(w.isupper() and len(w) > 1),
                     i / max(1, n - 1), float(r != 0.0)])
    return np.asarray(rows, np.float32).reshape(n, len(TOKEN_FEATURES))


def sentence_features(reading: TextReading, text: str) -> np.ndarray:
    """(len(SENTENCE_FEATURES),) float32."""
    s, v = reading.scores, reading.valences or (0.0,)
    return np.asarray([s["compound"], s["pos"], s["neg"], s["neu"], min(text.count("!"), 3) / 3,
                       float("?" in text), max(v) / SCALE, min(v) / SCALE], np.float32)


def encode(texts: list[str | None], max_tokens: int) -> tuple[dict[str, np.ndarray], list]:
    """Model inputs for a batch of texts (None: no text) and each text's reading.

    token_features (B, T, F) float32, text_mask (B, T) int64 (1 = word),
    sentence_features (B, S) float32, has_text (B,) bool; T = the longest text, at most max_tokens.
    """
    readings = [read(t) if t else None for t in texts]
    T = max([min(len(r.words), max_tokens) for r in readings if r] + [1])
    b = len(texts)
    out = {"token_features": np.zeros((b, T, len(TOKEN_FEATURES)), np.float32),
           "text_mask": np.zeros((b, T), np.int64),
           "sentence_features": np.zeros((b, len(SENTENCE_FEATURES)), np.float32),
           "has_text": np.array([r is not None for r in readings])}
    for i, (r, text) in enumerate(zip(readings, texts)):
        if r is None:
            continue
        n = min(len(r.words), max_tokens)
        out["token_features"][i, :n] = token_features(r)[:n]
        out["text_mask"][i, :n] = 1
        out["sentence_features"][i] = sentence_features(r, text)
    return out, readings
