"""ShapesWorld: the built-in offline domain (spec: shared/specs/shapesworld.md)."""
from .caption import (
    RELATIONS,
    SHAPES,
    CaptionScene,
    describe,
    generate_caption_scene,
    is_correct_caption,
    normalize_caption,
    relation,
)
from .faces import MOUTHS, SENTIMENTS, Face, generate_face
from .render import CANVAS, COLOR_NAMES, COLORS, Shape, jpeg, render
from .video import ACTIONS, NUM_FRAMES, ROTATABLE, VideoClip, generate_clip, write_video
from .vqa import (
    ANSWERS,
    CANONICAL,
    HELDOUT_PARAPHRASES,
    QUESTION_TYPES,
    RELATIONAL,
    TRAIN_PARAPHRASES,
    VQAItem,
    VQAScene,
    all_items,
    answer,
    generate_scene,
    heldout_items,
    make_item,
    question_text,
)

__all__ = [
    # render
    "CANVAS", "COLORS", "COLOR_NAMES", "Shape", "jpeg", "render",
    # vqa (section 1)
    "ANSWERS", "CANONICAL", "HELDOUT_PARAPHRASES", "QUESTION_TYPES", "RELATIONAL",
    "TRAIN_PARAPHRASES", "VQAItem", "VQAScene", "all_items", "answer", "generate_scene",
    "heldout_items", "make_item", "question_text",
    # caption (section 2)
    "RELATIONS", "SHAPES", "CaptionScene", "describe", "generate_caption_scene",
    "is_correct_caption", "normalize_caption", "relation",
    # video (section 3)
    "ACTIONS", "NUM_FRAMES", "ROTATABLE", "VideoClip", "generate_clip", "write_video",
    # faces (section 4)
    "MOUTHS", "SENTIMENTS", "Face", "generate_face",
]
