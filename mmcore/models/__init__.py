"""mmcore's own transformers models, registered with the Auto classes at import."""
from .processing import ShapesWorldProcessor, build_processor
from .fusion_vqa import FUSIONS, ShapesFusionConfig, ShapesFusionForQuestionAnswering
from .shapes_vqa import ShapesVQAConfig, ShapesVQAForQuestionAnswering

from transformers import AutoProcessor

AutoProcessor.register(ShapesVQAConfig, ShapesWorldProcessor)
AutoProcessor.register(ShapesFusionConfig, ShapesWorldProcessor)

__all__ = ["FUSIONS", "ShapesFusionConfig", "ShapesFusionForQuestionAnswering", "ShapesVQAConfig", "ShapesVQAForQuestionAnswering", "ShapesWorldProcessor", "build_processor"]
