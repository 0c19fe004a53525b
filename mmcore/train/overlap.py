"""How many held-out sentences have a near-copy in the training sentences
(python -m mmcore.train.overlap): separate writers of plain English converge on the same
weather reports and router instructions, and a held-out sentence the model was trained on
scores memory, not reading.

Alike = difflib's ratio of the lowercased texts. Candidates are the training sentences that
share at least a third of their words with the held-out one (a ratio of 0.8 or more needs
far more), so a set of 300 against 10,000 takes seconds, not the hours of every pair.
"""
from __future__ import annotations

import difflib
import re
import sys
from collections import defaultdict
from pathlib import Path

from .sentiment import DATA, load_sentences
from .sentiment_card import HELDOUT


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9']+", text.lower()))


class Index:
    """Training sentences, findable by shared words."""

    def __init__(self, texts: list[str]) -> None:
        self.texts, self.words = texts, [_words(t) for t in texts]
        self.by_word: dict[str, list[int]] = defaultdict(list)
        for i, ws in enumerate(self.words):
            for w in ws:
                self.by_word[w].append(i)

    def closest(self, text: str) -> tuple[float, str]:
        """(ratio, training sentence) of the most alike training sentence; (0.0, "") if none shares a third of its words."""
        ws, shared = _words(text), defaultdict(int)
        for w in ws:
            for i in self.by_word.get(w, ()):
                shared[i] += 1
        best = (0.0, "")
        for i, n in shared.items():
            if n / len(ws | self.words[i]) >= 1 / 3:
                r = difflib.SequenceMatcher(None, text.lower(), self.texts[i].lower()).ratio()
                best = max(best, (r, self.texts[i]))
        return best


def near_copies(held: list[str], index: Index, threshold: float = 0.9) -> list[tuple[float, str, str]]:
    """(ratio, held-out sentence, training sentence) for each held-out sentence at least `threshold` alike."""
    found = [(*index.closest(t), t) for t in held]
    return [(r, t, other) for r, other, t in found if r >= threshold]


def main(threshold: float = 0.9) -> None:
    index = Index([t for _, t in load_sentences(DATA)])
    for name, path in HELDOUT.items():
        hits = near_copies([t for _, t in load_sentences(path)], index, threshold)
        print(f"{path.name}: {len(hits)} of 300 sentences >= {threshold} alike to a training sentence"
              f" ({sum(r == 1.0 for r, _, _ in hits)} identical)")
        for r, t, other in hits:
            print(f"  {r:.2f} {t!r} ~ {other!r}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.9)
