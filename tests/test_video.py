"""Video through the real path: clips written with OpenCV (mp4v, VP8/VP9 webm, MJPG avi),
sampling by seeking, tiny random built-in VideoMAE, Kinetics VideoMAE and X-CLIP models
saved to folders and loaded with from_pretrained, the CLI, and clear errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

import mmcore
from mmcore import video_io
from mmcore.loading import resolve
from mmcore.shapesworld.video import ACTIONS, generate_clip, write_video
from mmcore.tasks.video import VideoTask, clean_labels
from tests.test_cli import _run
from tests.tiny_models import build_tiny_videomae_kinetics, build_tiny_xclip


def _numbered(n: int, size: int = 48) -> np.ndarray:
    """n frames whose brightness encodes their index (index * 8), to check which frames were read."""
    return np.stack([np.full((size, size, 3), min(255, 8 * i), np.uint8) for i in range(n)])


@pytest.fixture(scope="module")
def clip_mp4(tmp_path_factory):
    clip = generate_clip(np.random.default_rng(0), "moving right")
    return write_video(tmp_path_factory.mktemp("clips") / "clip.mp4", clip.frames(), fps=8)


@pytest.mark.parametrize("ext", [".mp4", ".webm", ".avi"])
def test_probe_and_seek_read_the_right_frames(tmp_path, ext):
    path = write_video(tmp_path / f"n{ext}", _numbered(30), fps=10)
    info = video_io.probe(path)
    assert info.frames == 30 and info.fps == pytest.approx(10) and info.seconds == pytest.approx(3)
    indices = video_io.sample_indices(0, 30, 8)
    frames = video_io.read_frames(path, indices)
    assert frames.shape[0] == 8
    brightness = frames.reshape(8, -1).mean(1) / 8
    assert np.abs(brightness - np.array(indices)).max() < 1.0  # each frame is the one asked for


def test_sampling_rules():
    assert video_io.sample_indices(0, 160, 16) == list(range(5, 160, 10))
    assert video_io.sample_indices(0, 5, 16) == sorted(video_io.sample_indices(0, 5, 16))
    assert set(video_io.sample_indices(0, 5, 16)) == set(range(5))  # short clip: every frame, repeated
    assert video_io.sample_indices(0, 1, 4) == [0, 0, 0, 0]  # one-frame video
    assert video_io.sample_indices(100, 200, 4) == [112, 137, 162, 187]


def test_segments_cover_long_videos():
    info = video_io.VideoInfo("x", 900, 30.0, 64, 64)  # 30 s
    parts = video_io.segments(info, 10.0)
    assert parts == [(0, 300), (300, 600), (600, 900)]
    long = video_io.VideoInfo("x", 30 * 600, 30.0, 64, 64)  # 10 minutes: capped segment count
    assert len(video_io.segments(long)) == video_io.MAX_SEGMENTS


@pytest.mark.parametrize("content,needle", [(b"", "empty"), (b"\x00" * 64, "not a video"),
                                             (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "could not be opened|no decodable")])
def test_broken_files_are_clear(tmp_path, content, needle):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(mmcore.InputError, match=needle):
        video_io.probe(bad)


def test_png_sent_as_video_and_truncated_video(tmp_path, clip_mp4, scene_png):
    with pytest.raises(mmcore.InputError, match="not a video"):
        video_io.probe(scene_png)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip_mp4.read_bytes()[:300])
    with pytest.raises(mmcore.InputError):
        video_io.probe(cut)


def test_builtin_task_answers_with_maps(builtin_dir, clip_mp4):
    r = mmcore.video(clip_mp4, top_k=3)
    assert r.model == "shapesworld-video" and r.action in ACTIONS and len(r.top_k) == 3
    assert r.caption.startswith("a ") and " is " in r.caption
    assert set(r.attributes) == {"color", "shape"} and r.frame_count == 16 and len(r.segments) == 1
    seg = r.segments[0]
    assert seg.frame_indices == tuple(range(16)) and seg.importance.shape == (16,)
    assert seg.importance.sum() == pytest.approx(1, abs=1e-4) and seg.maps.shape == (16, 4, 4)
    assert seg.frames.shape[0] == 16 and seg.frames.dtype == np.uint8
    assert json.dumps(r.to_dict())


@pytest.mark.parametrize("frames", [1, 5])
def test_videos_shorter_than_the_model_needs(builtin_dir, tmp_path, frames):
    """A one-frame video and a 5-frame one still give the model 16 frames, in order."""
    path = write_video(tmp_path / f"short{frames}.mp4", _numbered(frames), fps=4)
    seg = mmcore.video(path).segments[0]
    assert len(seg.frame_indices) == 16 and set(seg.frame_indices) == set(range(frames))
    assert list(seg.frame_indices) == sorted(seg.frame_indices) and seg.frames.shape[0] == 16


def test_long_video_is_segmented_and_batch_errors_are_per_item(builtin_dir, tmp_path, clip_mp4):
    long = write_video(tmp_path / "long.webm", _numbered(200, 32), fps=8)  # 25 s
    good, bad, missing = mmcore.video_batch([str(long), str(tmp_path / "nope.mp4"), ""])
    assert [round(s.start_s, 3) for s in good.segments] == [0, 8.375, 16.625] and good.duration_s == 25
    assert isinstance(bad, mmcore.InputError) and "no such video" in str(bad)
    assert isinstance(missing, mmcore.InputError) and "no video" in str(missing)
    with pytest.raises(mmcore.InputError, match="fixed classes"):
        mmcore.video(clip_mp4, labels="a, b")


def test_labels_are_checked():
    assert clean_labels("running,  jumping , running") == ("running", "jumping")
    assert clean_labels(None) is None
    with pytest.raises(mmcore.InputError, match="2 to 20 labels"):
        clean_labels("only one")
    with pytest.raises(mmcore.InputError, match="2 to 20 labels"):
        clean_labels(",".join(f"l{i}" for i in range(25)))


def test_kinetics_videomae_through_the_real_path(builtin_dir, tmp_path, clip_mp4):
    task = VideoTask(resolve("video", model=str(build_tiny_videomae_kinetics(tmp_path / "vmae"))))
    r = task.run(str(clip_mp4), top_k=4)
    assert len(r.top_k) == 4
    assert r.caption.startswith("keyframe: ")  # the captioning task captioned the most important frame
    assert r.segments[0].maps.shape[0] == 16 and r.segments[0].importance.sum() == pytest.approx(1, abs=1e-4)


def test_xclip_zero_shot_over_typed_labels(tmp_path, clip_mp4):
    task = VideoTask(resolve("video", model=str(build_tiny_xclip(tmp_path / "xclip"))))
    r = task.run((str(clip_mp4), "moving right, growing, rotating"), top_k=3)
    assert {a for a, _ in r.top_k} == {"moving right", "growing", "rotating"}
    assert sum(p for _, p in r.top_k) == pytest.approx(1, abs=1e-4)
    assert r.segments[0].maps.shape[0] == task.frames and r.segments[0].importance.sum() == pytest.approx(1, abs=1e-4)
    with pytest.raises(mmcore.InputError, match="zero-shot: type the labels"):
        task.run(str(clip_mp4))


def test_cli_video(builtin_dir, clip_mp4, tmp_path):
    env = {"MMCORE_BUILTIN_DIR": str(builtin_dir)}
    one = _run("video", str(clip_mp4), "--json", env=env)
    assert one.returncode == 0, one.stderr
    assert list(json.loads(one.stdout))[:3] == ["action", "caption", "score"]
    lines = [json.dumps({"id": "a", "video": str(clip_mp4)}), json.dumps({"id": "b", "video": str(tmp_path / "x.mp4")})]
    batch = tmp_path / "in.jsonl"
    batch.write_text("\n".join(lines))
    out = _run("video", "--batch", str(batch), env=env)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 1 and rows[0]["action"] in ACTIONS and "no such video" in rows[1]["error"]


def test_recipe_smoke(tmp_path):
    from mmcore.train.__main__ import main

    assert main(["video", "--smoke", "--out", str(tmp_path / "v")]) == 0
    assert VideoTask(resolve("video", model=str(tmp_path / "v"))).frames == 16
