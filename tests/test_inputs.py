"""Input handling: odd-but-valid images work, bad ones get an InputError saying why."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from mmcore.errors import InputError
from mmcore.inputs import MAX_PIXELS, MAX_QUESTION_CHARS, MAX_SIDE, clean_question, load_image


def _save(tmp_path: Path, image: Image.Image, name: str, **kw) -> Path:
    path = tmp_path / name
    image.save(path, **kw)
    return path


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.fromarray(skdata.astronaut())  # a real 512x512 photo shipped with scikit-image


@pytest.mark.parametrize("mode,name", [("RGBA", "a.png"), ("LA", "b.png"), ("P", "c.gif"),
                                       ("CMYK", "d.jpg"), ("I;16", "e.png"), ("L", "f.bmp"),
                                       ("1", "g.png"), ("RGB", "h.webp"), ("RGB", "i.tiff")])
def test_any_mode_becomes_rgb(tmp_path, photo, mode, name):
    path = _save(tmp_path, photo.convert(mode) if mode != "I;16" else _grey16(photo), name)
    out = load_image(path)
    assert out.mode == "RGB" and out.size == photo.size
    assert np.asarray(out).std() > 10  # the picture survived, not a blank canvas


def _grey16(photo: Image.Image) -> Image.Image:
    grey = np.asarray(photo.convert("L"), dtype=np.uint16) * 257  # full 16-bit range
    return Image.fromarray(grey, mode="I;16")


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path, photo):
    out = np.asarray(load_image(_save(tmp_path, _grey16(photo), "g16.png")))
    expected = np.asarray(photo.convert("L"))
    assert np.abs(out[..., 0].astype(int) - expected).max() <= 1


def test_transparent_pixels_become_white(tmp_path):
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    assert np.asarray(load_image(_save(tmp_path, rgba, "t.png")))[0, 0].tolist() == [255, 255, 255]


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), "white")
    img.paste((255, 0, 0), (0, 0, 10, 20))  # red band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = load_image(_save(tmp_path, img, "r.jpg", exif=exif.tobytes()))
    assert out.size == (20, 40)
    assert np.asarray(out)[2, 10, 0] > 200 and np.asarray(out)[2, 10, 1] < 80  # red now on top


def test_inputs_other_than_paths(photo):
    arr = np.asarray(photo)
    assert load_image(arr).size == photo.size
    assert load_image(arr[..., 0]).mode == "RGB"
    assert load_image(arr.astype(np.float32) / 255).size == photo.size
    buf = io.BytesIO()
    photo.save(buf, format="PNG")
    assert load_image(buf.getvalue()).size == photo.size


def test_large_images_are_scaled_down():
    big = Image.new("RGB", (3000, 1500), "white")
    assert max(load_image(big).size) == MAX_SIDE


@pytest.mark.parametrize("content,needle", [
    (b"", "empty"),
    (b"this is plain text, not an image", "not an image"),
])
def test_unreadable_files(tmp_path, content, needle):
    path = tmp_path / "upload.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match=needle):
        load_image(path)


def test_truncated_image(tmp_path, photo):
    full = _save(tmp_path, photo, "full.png").read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_image(path)


def test_decompression_bomb_refused_before_decoding(tmp_path):
    bomb = _save(tmp_path, Image.new("1", (24000, 24000)), "bomb.png")  # ~100 KB file
    assert bomb.stat().st_size < 200_000
    with pytest.raises(InputError, match=f"{MAX_PIXELS:,}"):
        load_image(bomb)


def test_missing_file_and_bad_types(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="unsupported image input"):
        load_image(42)
    with pytest.raises(InputError, match="shape"):
        load_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(InputError, match="dtype"):
        load_image(np.full((4, 4), np.nan))


def test_questions():
    assert clean_question("  What is\tthe shape?\n") == "What is the shape?"
    for bad, needle in [("", "empty"), ("   \n", "empty"), ("x" * 100_000, "100,000"), (None, "text")]:
        with pytest.raises(InputError, match=needle):
            clean_question(bad)
    assert len(clean_question("y" * MAX_QUESTION_CHARS)) == MAX_QUESTION_CHARS
