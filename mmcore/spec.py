"""ModelSpec: everything that decides which weights run how; the model cache key."""
from __future__ import annotations

from dataclasses import dataclass

PROFILES = ("auto", "builtin", "pretrained")
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8", "bnb8", "bnb4")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class ModelSpec:
    """A concrete, loadable model: no 'auto' left in any field."""

    name: str  # registry name, or the folder path for an unregistered local model
    source: str  # Hugging Face Hub id, or an absolute local folder
    arch: str  # adapter key (mmcore.adapters.ARCHS), e.g. "vilt", "blip", "shapesworld-vqa"
    revision: str | None  # pinned Hub revision; None for local folders
    profile: str  # "builtin" | "pretrained" | "local": what the UI and CLI report
    precision: str  # one of PRECISIONS except "auto"
    device: str  # "cpu" | "cuda" (or "cuda:N")

    @property
    def is_local(self) -> bool:
        return self.revision is None

    def describe(self) -> str:
        """One line for logs, CLI output and the UI."""
        where = self.source if self.is_local else f"{self.source}@{self.revision}"
        return f"{self.name} ({self.profile}; {where}; {self.precision} on {self.device})"
