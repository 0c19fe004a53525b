"""The shipped built-in video model (mmcore/builtin/video) against the issue's targets, through
mmcore's real path: fresh clips written as video files, probed, sampled by seeking."""
from __future__ import annotations

import numpy as np
import pytest

import mmcore
from mmcore.registry import BUILTIN_DIR
from mmcore.shapesworld.video import generate_clip, write_video
from mmcore.train.video_card import evaluate

FOLDER = BUILTIN_DIR / "video"


@pytest.fixture(scope="module")
def scores() -> dict:
    assert (FOLDER / "model.safetensors").is_file(), "the built-in video model is shipped in mmcore/builtin"
    return evaluate(FOLDER, clips=96, seed=4242)


@pytest.mark.parametrize("kind", ["mp4_75px_8fps", "webm_300px_30fps"])
def test_held_out_clips(scores, kind):
    assert scores[kind]["action"] >= 95 and scores[kind]["caption"] >= 90


def test_model_size_is_within_the_budget():
    assert (FOLDER / "model.safetensors").stat().st_size <= 15 * 2**20


def test_the_map_follows_the_object(tmp_path):
    """Moving right: the action head's attention moves right with the object over the clip."""
    clip = generate_clip(np.random.default_rng(21), "moving right")
    result = mmcore.video(write_video(tmp_path / "c.mp4", clip.frames(), fps=8), model="shapesworld-video")
    maps = result.segments[0].maps  # (16, 4, 4)
    columns = [(m.sum(0) * np.arange(m.shape[1])).sum() / m.sum() for m in maps]
    assert columns[-1] > columns[0]
