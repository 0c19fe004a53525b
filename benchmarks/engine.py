"""The engine, in process: per model, one request's latency (p50 / p95), throughput for
batches of 1, 8 and 32, the cost of attention maps, and the plain-transformers baseline on
the same model and inputs.

  one request: `task.run(item)` end to end (decode, preprocess, forward, maps, result).
  batches:     `task.run_batch(items)`: items per second.
  maps:        the model's own call without attentions against mmcore's adapter forward
               (attentions, rollout or cross-attention maps, answers), same loaded model, same
               batch of 8 preprocessed inputs.
  baseline:    what a user of plain transformers writes: the model loaded with its own class's
               from_pretrained (library defaults, fp32), processor + model call per item
               (`generate` for captioning), no maps; mmcore runs at its `auto` precision (the
               row's precision). Ratio = mmcore time / baseline time (< 1: mmcore faster).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from common import QUESTION, caption_items, pct, sentiment_items, summary, timed, video_items, vqa_items
from models import blip_base_caption, vilt_b32

BATCHES = (1, 8, 32)


def cases(tmp: Path) -> dict[str, tuple[str, str | None, list[Any]]]:
    """name -> (task, model for mmcore (None: the built-in default), 32 raw inputs)."""
    vqa, _ = vqa_items(32)
    _, pictures = caption_items(32)
    big_vqa = [(image, QUESTION) for image, _ in vqa_items(32, size=384)[0]]
    _, big_pictures = caption_items(32, size=384)
    return {"shapesworld-vqa": ("vqa", None, vqa),
            "shapesworld-caption": ("caption", None, pictures),
            "shapesworld-sentiment": ("sentiment", None, sentiment_items(32)[0]),
            "shapesworld-video": ("video", None, video_items(32, tmp)[0]),
            "vilt-b32 (random)": ("vqa", str(vilt_b32()), big_vqa),
            "blip-base caption (random)": ("caption", str(blip_base_caption()), big_pictures)}


def measure(name: str, task_name: str, model: str | None, items: list[Any], quick: bool) -> dict[str, Any]:
    import mmcore

    task = mmcore.task(task_name, profile="builtin" if model is None else "auto", model=model)
    big = model is not None
    one = timed(lambda it=iter(items * 100): task.run(next(it)), repeats=5 if quick or big else 30)
    row = {"model": name, "task": task_name, "precision": task.spec.precision, "one_request": summary(one),
           "throughput": {str(b): _throughput(task, items[:b], 1 if big or b == 32 else 3) for b in BATCHES}}
    if task_name in ("vqa", "caption"):
        row["maps"] = map_cost(task, items[:8], repeats=3 if big else 40)
        row["baseline"] = baseline(task, items, repeats=4 if big else 30, batch_repeats=1 if big else 3)
    return row


def _throughput(task, items: list[Any], repeats: int) -> float:
    times = timed(lambda: task.run_batch(items), repeats=repeats)
    return round(len(items) / min(times), 2)


def map_cost(task, items: list[Any], repeats: int) -> dict[str, float]:
    """The forward pass with and without attention maps on one batch of 8."""
    loaded, adapter = task.loaded, task.adapter
    prepared = [task.preprocess(raw) for raw in items]
    if task.name == "vqa":
        inputs = adapter.preprocess(loaded, [p.image for p in prepared], [p.question for p in prepared])
        plain = lambda: loaded.model(**_on(inputs, loaded))  # noqa: E731
        with_maps = lambda: adapter.forward(loaded, inputs, 5)  # noqa: E731
    else:
        from mmcore.adapters import Decoding

        inputs = adapter.preprocess(loaded, [p.image for p in prepared], [None] * len(prepared))
        pixels = inputs["pixel_values"].to(loaded.device, loaded.dtype)
        plain = lambda: loaded.model.generate(pixel_values=pixels, max_new_tokens=20, num_beams=1, do_sample=False)  # noqa: E731
        with_maps = lambda: adapter.forward(loaded, inputs, Decoding())  # noqa: E731
    with torch.inference_mode():
        without, with_ = alternating(plain, with_maps, repeats)
    without_ms, with_ms = pct(without, 50), pct(with_, 50)
    return {"without_ms": without_ms, "with_ms": with_ms, "overhead_pct": round(100 * (with_ms / without_ms - 1), 1)}


def alternating(a, b, repeats: int) -> tuple[list[float], list[float]]:
    """Both timed in turns after warming up, so the machine's drift (it is shared) hits both alike."""
    timed(a, 0, warmup=2), timed(b, 0, warmup=2)
    times_a, times_b = [], []
    for _ in range(repeats):
        times_a += timed(a, 1, warmup=0)
        times_b += timed(b, 1, warmup=0)
    return times_a, times_b


def _on(inputs: dict[str, torch.Tensor], loaded) -> dict[str, torch.Tensor]:
    out = {k: v.to(loaded.device) for k, v in inputs.items()}
    out["pixel_values"] = out["pixel_values"].to(loaded.dtype)
    return out


def baseline(task, items: list[Any], repeats: int, batch_repeats: int) -> dict[str, float]:
    """Plain transformers on the same folder and inputs, one item at a time, timed in turns
    with mmcore (one request; then 32 items as one run_batch against 32 plain calls)."""
    one = _plain(task, items)
    counter = iter(range(10**6))
    mm, plain = alternating(lambda: task.run(items[next(counter) % len(items)]),
                            lambda: one(next(counter) % len(items)), repeats)
    mm32, plain32 = alternating(lambda: task.run_batch(items), lambda: [one(i) for i in range(len(items))],
                                batch_repeats)
    return {"one_request_p50_ms": pct(plain, 50), "mmcore_one_request_p50_ms": pct(mm, 50),
            "ratio_one_request": round(pct(mm, 50) / pct(plain, 50), 2),
            "items_per_s_one_by_one": round(len(items) / min(plain32), 2),
            "ratio_throughput_batch32": round(min(mm32) / min(plain32), 2)}


def _plain(task, items: list[Any]):
    """What a plain-transformers user writes: own class's from_pretrained, processor, model call."""
    from PIL import Image

    model = type(task.loaded.model).from_pretrained(task.spec.source, use_safetensors=True,
                                                    dtype=torch.float32).eval()
    processor = task.loaded.processor
    def one(i: int) -> Any:
        raw = items[i][0] if isinstance(items[i], tuple) else items[i]  # the same numpy array mmcore gets
        picture = Image.fromarray(raw).convert("RGB")
        with torch.inference_mode():
            if task.name == "vqa":
                inputs = processor(images=picture, text=items[i][1], return_tensors="pt")
                return model.config.id2label[int(model(**inputs).logits.argmax(-1))]
            pixels = processor.image_processor(picture, return_tensors="pt")["pixel_values"]
            ids = model.generate(pixel_values=pixels, max_new_tokens=20, num_beams=1, do_sample=False)
            return processor.tokenizer.batch_decode(ids, skip_special_tokens=True)[0]

    return one


def run(quick: bool = False, models: list[str] | None = None, log=print) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (task_name, model, items) in cases(Path(tmp)).items():
            if models and name not in models:
                continue
            rows.append(measure(name, task_name, model, items, quick))
            log(f"engine: {rows[-1]}")
    return rows
