"""Architecture table: which transformers class loads a family, and which adapter runs it.

Registered by architecture key (ModelSpec.arch), never looked up by model name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transformers import AutoImageProcessor, AutoTokenizer

from ..models.sentiment import ShapesSentimentConfig, ShapesSentimentModel
from ..models.video import ShapesVideoConfig, ShapesVideoModel
from ..models import ShapesFusionConfig, ShapesFusionForQuestionAnswering, ShapesVQAConfig, ShapesVQAForQuestionAnswering
from .base import CaptionAdapter, CaptionOutput, Decoding, LoadedModel, VQAAdapter, VQAOutput
from .blip import BlipVQAAdapter
from .caption_blip import BlipCaptionAdapter
from .caption_ved import VisionEncoderDecoderCaptionAdapter
from .fusion import FusionVQAAdapter
from .sentiment import ClipSentimentAdapter, ShapesSentimentAdapter, TextClassifierSentimentAdapter
from .shapesworld import ShapesWorldVQAAdapter
from .video import ShapesVideoAdapter, VideoMAEKineticsAdapter, XClipAdapter
from .vilt import ViltVQAAdapter


@dataclass(frozen=True)
class Arch:
    key: str  # ModelSpec.arch
    task: str  # the task this family serves
    model_type: str  # config.json "model_type", to recognise a local folder
    # PreTrainedModel class to load with, or the name of a transformers class, imported on first
    # load: importing every family's modeling code up front cost about 1 s of the app's cold start
    model_class: Any
    adapter: Any  # adapter class (preprocess / forward)
    load_processor: Any = None  # (source, **hub kwargs) -> processor; None: AutoProcessor

    def model_cls(self) -> Any:
        if isinstance(self.model_class, str):
            import transformers

            return getattr(transformers, self.model_class)
        return self.model_class


def _image_and_tokenizer(source: str, **kwargs: Any) -> Any:
    """VisionEncoderDecoder folders (nlpconnect's included) ship an image processor and a
    tokenizer but no processor class of their own: pair them in TrOCRProcessor, the stock
    image-processor + tokenizer pair."""
    from transformers import AutoImageProcessor, AutoTokenizer, TrOCRProcessor

    return TrOCRProcessor(image_processor=AutoImageProcessor.from_pretrained(source, **kwargs),
                          tokenizer=AutoTokenizer.from_pretrained(source, **kwargs))


ARCHS: dict[str, Arch] = {}


def register_arch(arch: Arch) -> Arch:
    ARCHS[arch.key] = arch
    return arch


register_arch(Arch("vilt", "vqa", "vilt", "ViltForQuestionAnswering", ViltVQAAdapter))
register_arch(Arch("blip", "vqa", "blip", "BlipForQuestionAnswering", BlipVQAAdapter))
register_arch(Arch("blip-caption", "caption", "blip", "BlipForConditionalGeneration", BlipCaptionAdapter))
register_arch(Arch("vision-encoder-decoder", "caption", "vision-encoder-decoder", "VisionEncoderDecoderModel",
                   VisionEncoderDecoderCaptionAdapter, _image_and_tokenizer))
register_arch(Arch("shapesworld-vqa", "vqa", ShapesVQAConfig.model_type, ShapesVQAForQuestionAnswering,
                   ShapesWorldVQAAdapter))
register_arch(Arch("shapesworld-fusion", "vqa", ShapesFusionConfig.model_type, ShapesFusionForQuestionAnswering,
                   FusionVQAAdapter))

register_arch(Arch("shapesworld-sentiment", "sentiment", ShapesSentimentConfig.model_type, ShapesSentimentModel,
                   ShapesSentimentAdapter, AutoImageProcessor.from_pretrained))
register_arch(Arch("text-sentiment", "sentiment", "roberta", "RobertaForSequenceClassification",
                   TextClassifierSentimentAdapter, AutoTokenizer.from_pretrained))
register_arch(Arch("clip-sentiment", "sentiment", "clip", "CLIPModel", ClipSentimentAdapter))

register_arch(Arch("shapesworld-video", "video", ShapesVideoConfig.model_type, ShapesVideoModel, ShapesVideoAdapter,
                   AutoImageProcessor.from_pretrained))
register_arch(Arch("videomae", "video", "videomae", "VideoMAEForVideoClassification", VideoMAEKineticsAdapter,
                   AutoImageProcessor.from_pretrained))
register_arch(Arch("xclip", "video", "xclip", "XCLIPModel", XClipAdapter))


def arch_for_model_type(model_type: str, task: str) -> Arch | None:
    return next((a for a in ARCHS.values() if a.model_type == model_type and a.task == task), None)


__all__ = ["ARCHS", "Arch", "CaptionAdapter", "CaptionOutput", "Decoding", "LoadedModel", "VQAAdapter", "VQAOutput",
           "arch_for_model_type", "register_arch"]
