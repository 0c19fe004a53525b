"""Reading videos: probe, split into segments, sample frames by seeking.

A model sees a fixed number of frames per clip (16 for VideoMAE), so a long video is never
decoded whole: each sampled frame is reached by seeking (FFmpeg jumps to the keyframe
before it and decodes forward from there). Only a container whose header does not state
its frame count is counted by grabbing its packets once, without converting frames.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError

FORMATS = "mp4, webm, avi, mov or mkv"
MAX_SECONDS = 600.0  # longer videos are refused (10 minutes)
MAX_FRAMES = 60_000  # frame-count ceiling, whatever the header says
MAX_SIDE = 4096  # larger frames are refused (width or height)
SEGMENT_SECONDS = 10.0  # a longer video is split into segments of about this length
MAX_SEGMENTS = 12  # beyond this, segments grow longer instead


@dataclass(frozen=True)
class VideoInfo:
    path: str
    frames: int  # frame count
    fps: float  # frames per second (25 assumed when the file does not say)
    width: int
    height: int

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


def _signature_ok(head: bytes) -> bool:
    """ISO media (mp4 / mov: an 'ftyp', 'moov', 'mdat', 'wide' or 'free' box first),
    Matroska / WebM (EBML magic) or AVI (RIFF....AVI )."""
    return (head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
            or head[:4] == b"\x1a\x45\xdf\xa3" or (head[:4] == b"RIFF" and head[8:12] == b"AVI "))


def _open(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise InputError(f"no such video file: {path.name}")
    with open(path, "rb") as f:
        head = f.read(12)
    if not head:
        raise InputError(f"{path.name} is empty (0 bytes); send a video: {FORMATS}")
    if not _signature_ok(head):
        raise InputError(f"{path.name} is not a video file; accepted: {FORMATS}")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise InputError(f"{path.name} could not be opened as a video (corrupt or unsupported codec); "
                         f"accepted: {FORMATS}")
    return cap


def _count(cap: cv2.VideoCapture) -> int:
    """Frames by grabbing (demux and decode, no colour conversion), for headers that do not say."""
    n = 0
    while n <= MAX_FRAMES and cap.grab():
        n += 1
    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
    return n


def probe(path: str | Path) -> VideoInfo:
    """Frame count, rate and size; a clear InputError for anything that is not a readable video."""
    path = Path(path)
    cap = _open(path)
    try:
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = fps if 0 < fps < 1000 else 25.0
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if n <= 0:
            n = _count(cap)
        ok, _ = cap.read()
    finally:
        cap.release()
    info = VideoInfo(str(path), n, fps, w, h)
    _check(info, ok, path.name)
    return info


def _check(info: VideoInfo, first_ok: bool, name: str) -> None:
    if not first_ok or info.frames <= 0:
        raise InputError(f"{name} has no decodable frames (corrupt, or not a video); accepted: {FORMATS}")
    if max(info.width, info.height) > MAX_SIDE:
        raise InputError(f"{name} is {info.width}x{info.height}; at most {MAX_SIDE} px per side is accepted")
    if info.frames > MAX_FRAMES or info.seconds > MAX_SECONDS:
        raise InputError(f"{name} is {info.seconds:.0f} s ({info.frames:,} frames); at most "
                         f"{MAX_SECONDS:.0f} s and {MAX_FRAMES:,} frames are accepted")


def segments(info: VideoInfo, seconds: float = SEGMENT_SECONDS) -> list[tuple[int, int]]:
    """[start, end) frame ranges of about `seconds` each (at most MAX_SEGMENTS), covering the video."""
    count = max(1, min(MAX_SEGMENTS, int(np.ceil(info.seconds / seconds - 1e-9))))
    edges = np.linspace(0, info.frames, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def sample_indices(start: int, end: int, n: int) -> list[int]:
    """n frame indices spread evenly over [start, end), each at the middle of its 1/n slice.

    Fewer frames than n: frames repeat (nearest earlier frame), so a model that needs n
    frames still gets n, in order.
    """
    if end <= start or n < 1:
        raise ValueError(f"empty range [{start}, {end}) or n={n}")
    span = end - start
    return [start + min(span - 1, int((k + 0.5) * span / n)) for k in range(n)]


def read_frames(path: str | Path, indices: list[int], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(len(indices), H, W, 3) uint8 RGB frames at `indices` (sorted), reached by seeking."""
    cap = _open(Path(path))
    frames: dict[int, np.ndarray] = {}
    try:
        position = 0
        wanted = sorted(set(indices))
        for done, index in enumerate(wanted, 1):
            if index != position:
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = cap.read()
            if not ok:
                raise InputError(f"{Path(path).name}: frame {index} could not be decoded (the file is truncated or "
                                 f"corrupt)")
            frames[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            position = index + 1
            if progress:
                progress(done, len(wanted))
    finally:
        cap.release()
    return np.stack([frames[i] for i in indices])
