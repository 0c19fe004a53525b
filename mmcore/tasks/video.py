"""Video understanding: a video file -> the action (top-k), a caption, and where the model
looked: a per-frame importance and a spatial map per sampled frame, per segment.

preprocess probes the file and reads only the sampled frames (by seeking; see
mmcore.video_io), scaled down at once, so memory does not grow with the video's length.
A video longer than `segment_seconds` is cut into segments, each answered on its own
sampled frames, in one forward pass; the video's answer averages the segments'.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .. import video_io
from ..adapters.video import VideoOutput
from ..errors import InputError, MMCoreError
from ..loading import resolve
from ..batching import BatchPolicy
from .base import Task
from .caption import CaptionTask

MAX_TOP_K = 10
MAX_LABELS = 20  # zero-shot labels per request
MAX_LABEL_CHARS = 60
THUMB_SIDE = 256  # sampled frames are kept at most this large (longest side)
VideoLike = str | Path


@dataclass(frozen=True)
class VideoSegment:
    start_s: float  # where the segment starts, in seconds
    end_s: float
    action: str  # best label
    score: float  # its probability
    top_k: tuple[tuple[str, float], ...]  # (label, probability), best first
    caption: str | None  # the model's caption, or "keyframe: ..." from the captioning task
    frame_indices: tuple[int, ...]  # the sampled frames, in the video's numbering
    importance: np.ndarray  # (T,) per sampled frame, sums to 1
    maps: np.ndarray  # (T, h, w) in [0, 1], one per sampled frame, at the model's token grid
    frames: np.ndarray  # (T, H', W', 3) uint8: the sampled frames, longest side <= THUMB_SIDE

    def to_dict(self) -> dict[str, Any]:
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "action": self.action,
                "score": round(self.score, 6), "caption": self.caption,
                "top_k": [[a, round(p, 6)] for a, p in self.top_k], "frame_indices": list(self.frame_indices),
                "importance": [round(float(v), 4) for v in self.importance]}


@dataclass(frozen=True)
class VideoResult:
    action: str  # best label over the whole video (segments' probabilities averaged)
    score: float
    top_k: tuple[tuple[str, float], ...]
    caption: str | None  # the most confident segment's caption
    attributes: dict[str, tuple[str, float]]  # built-in: colour and shape of that segment
    segments: tuple[VideoSegment, ...]
    duration_s: float
    fps: float
    frame_count: int
    size: tuple[int, int]  # (W, H)
    model: str
    profile: str
    precision: str
    device: str
    latency_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "caption": self.caption, "score": round(self.score, 6),
                "top_k": [[a, round(p, 6)] for a, p in self.top_k],
                "attributes": {k: [v, round(p, 6)] for k, (v, p) in self.attributes.items()},
                "segments": [s.to_dict() for s in self.segments], "duration_s": round(self.duration_s, 3),
                "fps": round(self.fps, 3), "frame_count": self.frame_count, "size": list(self.size),
                "model": self.model, "profile": self.profile, "precision": self.precision, "device": self.device,
                "latency_ms": round(self.latency_ms, 2)}


@dataclass(frozen=True)
class VideoItem:
    info: video_io.VideoInfo
    ranges: tuple[tuple[int, int], ...]  # segments' [start, end) frames
    indices: tuple[tuple[int, ...], ...]  # sampled frames per segment
    clips: tuple[np.ndarray, ...]  # per segment (T, H', W', 3) uint8
    labels: tuple[str, ...] | None  # zero-shot candidates


def clean_labels(labels: object) -> tuple[str, ...] | None:
    """"a, b, c" or a list -> distinct non-empty labels; None when none were given."""
    if labels is None or labels == "" or labels == []:
        return None
    items = labels.split(",") if isinstance(labels, str) else labels
    if not isinstance(items, (list, tuple)) or not all(isinstance(x, str) for x in items):
        raise InputError("labels must be text: comma-separated, e.g. 'playing guitar, cooking, running'")
    out = tuple(dict.fromkeys(" ".join(x.split()) for x in items if x.strip()))
    if len(out) < 2 or len(out) > MAX_LABELS or max(map(len, out)) > MAX_LABEL_CHARS:
        raise InputError(f"give 2 to {MAX_LABELS} labels of at most {MAX_LABEL_CHARS} characters each, "
                         f"comma-separated; got {len(out)}")
    return out


def _thumb(frames: np.ndarray) -> np.ndarray:
    h, w = frames.shape[1:3]
    k = THUMB_SIDE / max(h, w)
    if k >= 1:
        return frames
    size = (max(1, round(w * k)), max(1, round(h * k)))
    return np.stack([np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR)) for f in frames])


class VideoTask(Task[VideoItem, list[VideoOutput]]):
    name = "video"
    zero_shot: bool = False  # set from the adapter: whether the model takes typed labels
    batch_policy = BatchPolicy(max_batch=4)  # each video is already a batch of its segments

    def __init__(self, spec, segment_seconds: float = video_io.SEGMENT_SECONDS,
                 progress: Callable[[float, str], None] | None = None) -> None:
        super().__init__(spec)
        self.zero_shot = getattr(self.adapter, "zero_shot", False)
        config = self.loaded.model.config
        vision = getattr(config, "vision_config", None)  # X-CLIP keeps it there
        self.frames = int(getattr(config, "num_frames", None) or getattr(vision, "num_frames", 8))
        self.segment_seconds = segment_seconds
        self.progress = progress or (lambda fraction, what: None)

    def recipe(self) -> tuple[type, tuple]:
        return type(self), (self.spec, self.segment_seconds)

    def preprocess(self, raw: VideoLike | tuple[VideoLike, object]) -> VideoItem:
        video, labels = raw if isinstance(raw, tuple) else (raw, None)
        labels = clean_labels(labels)
        if self.zero_shot and labels is None:
            raise InputError(f"{self.spec.name} is zero-shot: type the labels to choose from, comma-separated")
        if labels is not None and not self.zero_shot:
            raise InputError(f"{self.spec.name} has fixed classes; typed labels need a zero-shot model (xclip)")
        if video is None or video == "":
            raise InputError(f"no video: send a file ({video_io.FORMATS})")
        info = video_io.probe(video)
        ranges = video_io.segments(info, self.segment_seconds)
        indices = [video_io.sample_indices(a, b, self.frames) for a, b in ranges]
        clips = []
        for k, idx in enumerate(indices):
            report = lambda done, n, k=k: self.progress((k + done / n) / len(indices), "reading frames")  # noqa: E731
            clips.append(_thumb(video_io.read_frames(video, idx, report)))
        self.progress(1.0, "running the model")
        return VideoItem(info, tuple(ranges), tuple(map(tuple, indices)), tuple(clips), labels)

    def _forward(self, items: list[VideoItem], top_k: int = 5) -> list[list[VideoOutput]]:
        if not 1 <= top_k <= MAX_TOP_K:
            raise InputError(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")
        outs = []
        for item in items:  # one forward per video: its segments are the batch
            inputs = self.adapter.preprocess(self.loaded, list(item.clips), list(item.labels or ()) or None)
            segment_outs = self.adapter.forward(self.loaded, inputs, max(top_k, 10))
            outs.append(self._keyframe_captions(item, segment_outs))
        return outs

    def _keyframe_captions(self, item: VideoItem, outs: list[VideoOutput]) -> list[VideoOutput]:
        """A model without captions of its own: each segment's most important frame goes
        through the captioning task (same profile; its default captioner)."""
        if all(o.caption for o in outs):
            return outs
        try:
            captioner = CaptionTask(resolve("caption", self.spec.profile if self.spec.profile != "local" else "auto",
                                            None, self.spec.precision, self.spec.device))
        except MMCoreError:  # no captioner can be had: the actions still stand
            return outs
        keyframes = [Image.fromarray(clip[int(np.argmax(o.importance))]) for clip, o in zip(item.clips, outs)]
        captions = captioner.run_batch(keyframes)
        return [o if o.caption or isinstance(c, MMCoreError) else replace(o, caption=f"keyframe: {c.caption}")
                for o, c in zip(outs, captions)]

    def postprocess(self, item: VideoItem, outs: list[VideoOutput], latency_ms: float, top_k: int = 5) -> VideoResult:
        fps = item.info.fps
        segments = tuple(VideoSegment(a / fps, b / fps, o.actions[0][0], o.actions[0][1], o.actions[:top_k], o.caption,
                                      idx, o.importance, o.maps, clip)
                         for (a, b), idx, o, clip in zip(item.ranges, item.indices, outs, item.clips))
        merged = _average([o.actions for o in outs])[:top_k]
        best = max(range(len(outs)), key=lambda i: outs[i].actions[0][1])
        return VideoResult(merged[0][0], merged[0][1], merged, outs[best].caption, outs[best].attributes, segments,
                           item.info.seconds, fps, item.info.frames, (item.info.width, item.info.height),
                           self.spec.name, self.spec.profile, self.spec.precision, self.spec.device, latency_ms)


def _average(tops: list[tuple[tuple[str, float], ...]]) -> tuple[tuple[str, float], ...]:
    """Mean probability per label over segments (a label missing from a segment's top list counts 0)."""
    total: dict[str, float] = {}
    for top in tops:
        for label, p in top:
            total[label] = total.get(label, 0.0) + p / len(tops)
    return tuple(sorted(total.items(), key=lambda kv: -kv[1]))
