"""The held-out sentiment sets against the training sentences (mmcore.train.overlap): the finder
itself, and the training sentences written after the held-out sets were fixed."""
from __future__ import annotations

import pytest

from mmcore.train.overlap import Index, near_copies
from mmcore.train.sentiment import DATA, load_sentences
from mmcore.train.sentiment_card import HELDOUT

TRAIN = ["The ferry crossing takes about ninety minutes.", "Love waiting forty minutes for cold fries.",
         "My landlord finally fixed the boiler after three weeks."]


def test_finds_near_copies_and_only_them():
    index = Index(TRAIN)
    held = ["the ferry crossing takes about ninety minutes!", "The ferry crossing takes about two hours.",
            "Loved the fries, hot and quick.", "Nothing in common here at all."]
    hits = near_copies(held, index, threshold=0.9)
    assert [(t, other) for _, t, other in hits] == [(held[0], TRAIN[0])]
    assert hits[0][0] >= 0.97
    assert index.closest(held[3]) == (0.0, "")  # shares too few words to be compared
    ratio, other = index.closest(held[1])
    assert other == TRAIN[0] and 0.7 < ratio < 0.9


@pytest.mark.parametrize("name, last_set", [("sentiment_train8.tsv", "heldout6"), ("sentiment_train9.tsv", "heldout7")])
def test_new_training_sentences_were_kept_apart_from_every_held_out_set(name, last_set):
    """sentiment_train8.tsv and sentiment_train9.tsv were each filtered against every held-out set
    up to the one written beside it (0.8 alike dropped); older files were not, and
    `python -m mmcore.train.overlap` lists their near-copies (README, "Multimodal sentiment")."""
    index = Index([t for _, t in load_sentences(DATA / name)])
    sets = list(HELDOUT)
    for held in sets[: sets.index(last_set) + 1]:
        assert near_copies([t for _, t in load_sentences(HELDOUT[held])], index, threshold=0.8) == [], held
