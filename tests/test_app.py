"""The Gradio app, launched for real on loopback and called through gradio_client."""
from __future__ import annotations

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.conftest import serving

QUESTION = "What is the shape of the red object?"


@pytest.fixture(scope="module")
def client(tiny_builtin_dir):
    with serving(tiny_builtin_dir) as demo:
        yield Client(demo.local_url, analytics_enabled=False, verbose=False)


def test_vqa_endpoint_answers(client, scene_png):
    answer, top, heat, maps, info = client.predict(handle_file(str(scene_png)), QUESTION, api_name="/vqa")
    assert answer in {"square", "circle", "left", "right", "top", "bottom", "1", "2", "3", "4", "5", "6"}
    assert top["label"] == answer and len(top["confidences"]) == 5
    assert heat.endswith((".png", ".webp", ".jpeg", ".jpg")) and len(maps) == 3
    assert "shapesworld-vqa" in info and "builtin" in info


def test_bad_input_gets_clear_message_and_server_keeps_serving(client, scene_png, tmp_path):
    with pytest.raises(AppError, match="question is empty"):
        client.predict(handle_file(str(scene_png)), "   ", api_name="/vqa")
    with pytest.raises(AppError, match="at most 300"):
        client.predict(handle_file(str(scene_png)), "why " * 30_000, api_name="/vqa")
    with pytest.raises(AppError, match="not in the list of choices"):  # no typed paths reach the loader
        client.predict(handle_file(str(scene_png)), QUESTION, "auto", "/etc/passwd", api_name="/vqa")
    answer, *_ = client.predict(handle_file(str(scene_png)), QUESTION, api_name="/vqa")
    assert answer


def test_a_request_past_its_time_limit_gets_a_clear_message(client, scene_png, monkeypatch):
    import demos.common

    monkeypatch.setitem(demos.common.TIMEOUT_S, "vqa", 1e-6)  # over before the model's pass can end
    with pytest.raises(AppError, match=r"did not finish within its limit of 1e-06 s.*try again"):
        client.predict(handle_file(str(scene_png)), QUESTION, api_name="/vqa")
    monkeypatch.undo()
    answer, *_ = client.predict(handle_file(str(scene_png)), QUESTION, api_name="/vqa")
    assert answer


@pytest.mark.parametrize("content,needle", [(b"", "empty"), (b"not an image at all", "not an image"),
                                             (b"\x89PNG\r\n\x1a\n\x00\x00", "not an image|truncated")])
def test_unreadable_uploads_get_clear_messages(client, tmp_path, content, needle):
    bad = tmp_path / "upload.png"
    bad.write_bytes(content)
    for args, api in (((handle_file(str(bad)), QUESTION), "/vqa"), ((handle_file(str(bad)),), "/caption")):
        with pytest.raises(AppError, match=needle):
            client.predict(*args, api_name=api)


def test_caption_endpoint_answers(client, scene_png):
    caption, words, heat, grid, info = client.predict(handle_file(str(scene_png)), api_name="/caption")[:5]
    assert isinstance(caption, str) and "shapesworld-caption" in info
    assert len(grid) == len([w for w in words if w["token"].strip()]) >= 1


def test_caption_bad_decoding_message(client, scene_png):
    with pytest.raises(AppError, match="accepted: greedy, beam, nucleus|not in the list of choices"):
        client.predict(handle_file(str(scene_png)), "", "sideways", api_name="/caption")


def test_api_lists_only_the_contract_endpoints(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/vqa", "/caption", "/sentiment", "/video", "/fusion"}


def test_fusion_endpoint_returns_one_row_per_strategy(client, scene_png):
    table, *panels, verdict = client.predict(handle_file(str(scene_png)), QUESTION, api_name="/fusion")
    assert table["headers"] == ["strategy", "answer", "confidence", "latency ms"]
    assert [row[0] for row in table["data"]] == ["early", "late", "hybrid"]
    assert all(0 <= row[2] <= 1 and row[3] > 0 for row in table["data"])
    assert len(panels) == 12 and "agree" in verdict
    for k, strategy in enumerate(("early", "late", "hybrid")):
        label, heat, layers, info = panels[4 * k:4 * k + 4]
        assert label["label"] == table["data"][k][1] and heat.endswith((".png", ".webp", ".jpeg", ".jpg"))
        assert f"fusion-{strategy}" in info and len(layers) >= 1


def test_fusion_bad_input_is_clear(client, scene_png):
    with pytest.raises(AppError, match="question is empty"):
        client.predict(handle_file(str(scene_png)), "", api_name="/fusion")
    with pytest.raises(AppError, match="No image"):
        client.predict(None, QUESTION, api_name="/fusion")


def test_uploads_are_cleaned_up_and_nothing_is_shared():
    import app

    demo = app.build_app()
    assert demo.delete_cache == app.DELETE_CACHE and app.DELETE_CACHE[1] <= 3600


def _face(tmp_path, label: str = "negative"):
    import numpy as np
    from PIL import Image

    from mmcore.shapesworld.faces import generate_face

    path = tmp_path / f"{label}.png"
    Image.fromarray(generate_face(np.random.default_rng(3), label).image(size=120)).save(path)
    return path


def test_sentiment_endpoint_text_image_and_both(client, tmp_path):
    face = handle_file(str(_face(tmp_path)))
    fused, verdict, text_side, image_side, words, heat, gallery, table, bars, info = client.predict(
        "I love this so much!", face, api_name="/sentiment")
    assert fused["label"] in {"positive", "negative", "neutral"} and len(fused["confidences"]) == 3
    assert "fusion, driven by" in verdict and text_side["label"] and image_side["label"]
    assert [row[0] for row in table["data"]] == ["late", "early", "hybrid"]
    assert heat.endswith(".png") and bars.endswith(".png") and len(gallery) == 2
    assert any(w["token"].strip() == "love" and w["class_or_confidence"] for w in words)
    assert "shapesworld-sentiment" in info
    text_only = client.predict("The bus leaves at nine.", None, api_name="/sentiment")
    assert "Only the **text**" in text_only[1] and not text_only[3] and not text_only[5]
    image_only = client.predict("", face, api_name="/sentiment")
    assert image_only[0]["label"] == image_only[3]["label"]


def test_sentiment_bad_inputs_are_clear(client, tmp_path):
    with pytest.raises(AppError, match="give a text, an image, or both"):
        client.predict("   ", None, api_name="/sentiment")
    with pytest.raises(AppError, match="at most 1,000"):
        client.predict("so good " * 500, None, api_name="/sentiment")
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    with pytest.raises(AppError, match="not an image"):
        client.predict("fine", handle_file(str(bad)), api_name="/sentiment")
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict("fine", None, "auto", "/etc/passwd", api_name="/sentiment")
    assert client.predict("fine", None, api_name="/sentiment")[0]["label"]


@pytest.fixture(scope="module")
def clip_webm(tmp_path_factory):
    import numpy as np

    from mmcore.shapesworld.video import generate_clip, write_video

    clip = generate_clip(np.random.default_rng(4), "moving up")
    return write_video(tmp_path_factory.mktemp("video") / "clip.webm", clip.frames(size=150), fps=8)


def test_video_endpoint_answers(client, clip_webm):
    actions, caption, importance, gallery, looked, segments, info = client.predict(
        handle_file(str(clip_webm)), api_name="/video")
    assert actions["label"] and len(actions["confidences"]) == 5
    assert caption.startswith("a ") and importance.endswith(".png") and len(gallery) == 16
    assert ".webm" in str(looked) and len(segments["data"]) == 1
    assert "shapesworld-video" in info and "16 frames" in info


def test_video_bad_inputs_are_clear(client, scene_png, tmp_path):
    with pytest.raises(AppError, match="not a video"):
        client.predict(handle_file(str(scene_png)), api_name="/video")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(AppError, match="empty"):
        client.predict(handle_file(str(empty)), api_name="/video")
    with pytest.raises(AppError, match="No video"):
        client.predict(None, api_name="/video")
