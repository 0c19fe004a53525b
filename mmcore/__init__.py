"""mmcore: the inference engine behind the multimodal model studio (never imports gradio).

    import mmcore
    result = mmcore.vqa("scene.png", "What is the shape of the red object?")
    result.answer, result.top_k, result.attention  # attention: (H, W) floats in [0, 1]
"""
import logging as _logging

# Import-time chatter of optional kernels that cannot apply on this machine (torchao's
# CUDA-only extensions; torch's pytree notes when torchao registers its enums).
for _name in ("torchao", "torch.utils._pytree"):
    _logging.getLogger(_name).setLevel(_logging.ERROR)

from .adapters import Decoding
from .api import (caption, caption_batch, fusion, fusion_batch, list_models, sentiment, sentiment_batch, task,
                  video, video_batch, vqa, vqa_batch, vqa_task)
from .errors import InputError, MMCoreError, ModelLoadError, PrecisionError, RequestTimeout
from .loading import resolve
from .spec import ModelSpec
from .tasks.caption import CaptionResult
from .tasks.fusion import FusionResult, FusionRow
from .tasks.sentiment import SentimentResult
from .tasks.video import VideoResult, VideoSegment
from .tasks.vqa import VQAResult

__all__ = ["CaptionResult", "Decoding", "FusionResult", "FusionRow", "InputError", "MMCoreError", "ModelLoadError", "ModelSpec", "PrecisionError", "RequestTimeout",
           "SentimentResult", "VQAResult", "VideoResult", "VideoSegment", "caption", "caption_batch", "fusion", "fusion_batch", "list_models", "resolve", "sentiment", "sentiment_batch", "task", "video", "video_batch", "vqa", "vqa_batch", "vqa_task"]
