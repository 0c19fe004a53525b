"""Architecture table: which transformers class loads a family, and which adapter runs it.

Registered by architecture key (ModelSpec.arch), never looked up by model name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transformers import BlipForQuestionAnswering, ViltForQuestionAnswering

from ..models import ShapesVQAConfig, ShapesVQAForQuestionAnswering
from .base import LoadedModel, VQAAdapter, VQAOutput
from .blip import BlipVQAAdapter
from .shapesworld import ShapesWorldVQAAdapter
from .vilt import ViltVQAAdapter


@dataclass(frozen=True)
class Arch:
    key: str  # ModelSpec.arch
    task: str  # the task this family serves
    model_type: str  # config.json "model_type", to recognise a local folder
    model_class: Any  # transformers PreTrainedModel class to load with
    adapter: Any  # adapter class (preprocess / forward)


ARCHS: dict[str, Arch] = {}


def register_arch(arch: Arch) -> Arch:
    ARCHS[arch.key] = arch
    return arch


register_arch(Arch("vilt", "vqa", "vilt", ViltForQuestionAnswering, ViltVQAAdapter))
register_arch(Arch("blip", "vqa", "blip", BlipForQuestionAnswering, BlipVQAAdapter))
register_arch(Arch("shapesworld-vqa", "vqa", ShapesVQAConfig.model_type, ShapesVQAForQuestionAnswering,
                   ShapesWorldVQAAdapter))


def arch_for_model_type(model_type: str, task: str) -> Arch | None:
    return next((a for a in ARCHS.values() if a.model_type == model_type and a.task == task), None)


__all__ = ["ARCHS", "Arch", "LoadedModel", "VQAAdapter", "VQAOutput", "arch_for_model_type", "register_arch"]
