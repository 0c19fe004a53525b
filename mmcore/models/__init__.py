"""mmcore's own transformers models, registered with the Auto classes at import."""
from .processing import ShapesWorldProcessor, build_processor
from .shapes_vqa import ShapesVQAConfig, ShapesVQAForQuestionAnswering

from transformers import AutoProcessor

AutoProcessor.register(ShapesVQAConfig, ShapesWorldProcessor)

__all__ = ["ShapesVQAConfig", "ShapesVQAForQuestionAnswering", "ShapesWorldProcessor", "build_processor"]
