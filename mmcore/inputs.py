"""Turning what users hand over into clean inputs, or an InputError that says why not.

Images: a path, bytes, a PIL image or a numpy array; any PIL mode (RGBA, LA, P, CMYK,
I;16, I, F, 1) ends as RGB; EXIF orientation is applied; the pixel count is checked
from the header before any pixel is decoded (a small PNG can hold a huge image).
"""
from __future__ import annotations

import io
import struct
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .errors import InputError

MAX_PIXELS = 40_000_000  # width x height, checked before decoding
MAX_SIDE = 1024  # larger images are scaled down (models resize far smaller anyway)
MAX_QUESTION_CHARS = 300  # longer questions are refused, not silently cut
FORMATS_HINT = "PNG, JPEG, GIF, BMP, TIFF or WebP"
# What Pillow's decoders raise on damaged files (found by tests/test_fuzz.py): the file's fault
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)

ImageLike = str | Path | bytes | Image.Image | np.ndarray


def load_image(src: ImageLike) -> Image.Image:
    """Any accepted image input -> an RGB PIL image of at most MAX_SIDE per side."""
    if isinstance(src, Image.Image):
        image = src
    elif isinstance(src, np.ndarray):
        image = _from_array(src)
    elif isinstance(src, (bytes, bytearray)):
        image = _open(io.BytesIO(src), "the uploaded bytes")
    elif isinstance(src, (str, Path)):
        image = _open_path(Path(src))
    else:
        raise InputError(f"unsupported image input of type {type(src).__name__}; "
                         "give a file path, bytes, a PIL image or a numpy array")
    _check_pixels(image.size, "the image")
    try:
        return _limit(_to_rgb(_oriented(image)))
    except DECODE_ERRORS as e:
        raise InputError(f"the image could not be converted to RGB ({e}); re-save it as {FORMATS_HINT}") from e


def _open_path(path: Path) -> Image.Image:
    if not path.is_file():
        raise InputError(f"image file not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"the image file {path.name} is empty (0 bytes); upload a {FORMATS_HINT} image")
    return _open(path, path.name)


def _open(fp, name: str) -> Image.Image:
    """Open lazily (header only), check the size, then decode."""
    try:
        image = Image.open(fp)
    except Image.DecompressionBombError as e:
        raise InputError(f"{name} is too large: {e}; at most {MAX_PIXELS:,} pixels") from e
    except DECODE_ERRORS as e:  # UnidentifiedImageError is an OSError
        raise InputError(f"{name} is not an image this app can read; accepted: {FORMATS_HINT}") from e
    _check_pixels(image.size, name)
    try:
        image.load()
    except (*DECODE_ERRORS, Image.DecompressionBombError) as e:
        raise InputError(f"{name} could not be decoded (truncated or corrupt: {e}); "
                         f"re-save it as {FORMATS_HINT}") from e
    return image


def _check_pixels(size: tuple[int, int], name: str) -> None:
    w, h = size
    if w * h > MAX_PIXELS:
        raise InputError(f"{name} is {w}x{h} = {w * h:,} pixels; at most {MAX_PIXELS:,} are accepted")
    if w < 1 or h < 1:
        raise InputError(f"{name} has no pixels ({w}x{h})")


def _oriented(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block must not cost the user their image
        return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any mode -> RGB: alpha over white, 16/32-bit and float grey scaled to 8 bits."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or arr.max() > 255 else 255.0
        image = Image.fromarray((arr / top * 255).clip(0, 255).astype(np.uint8))
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _from_array(arr: np.ndarray) -> Image.Image:
    """(H, W), (H, W, 1|3|4) arrays of uint8, or floats in [0, 1]."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputError(f"image array of shape {arr.shape} not accepted; use (H, W), (H, W, 3) or (H, W, 4)")
    _check_pixels((arr.shape[1], arr.shape[0]), "the image array")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.floating) or not np.isfinite(arr).all():
            raise InputError(f"image array of dtype {arr.dtype} not accepted; use uint8, or floats in [0, 1]")
        arr = (arr.clip(0, 1) * 255).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(arr))


def _limit(image: Image.Image) -> Image.Image:
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return image


def clean_question(question: object) -> str:
    """Strip, drop control characters, refuse empty or overlong questions."""
    if not isinstance(question, str):
        raise InputError(f"the question must be text, got {type(question).__name__}")
    text = "".join(ch for ch in question if unicodedata.category(ch)[0] != "C" or ch in " \t")
    text = " ".join(text.split())
    if not text:
        raise InputError("the question is empty; type a question about the image, "
                         "e.g. 'What is the shape of the red object?'")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(text):,} characters long; at most {MAX_QUESTION_CHARS} are accepted")
    return text
