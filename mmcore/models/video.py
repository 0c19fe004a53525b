"""The built-in video model: a stock VideoMAE encoder with three attention-pooled heads.

  clip (B, 16, 3, 64, 64) --VideoMAE--> tokens (B, 8 x 4 x 4, d): tubelets of 2 frames x 16 x 16 px,
       fixed sine/cosine positions over time and space, `num_hidden_layers` layers
  heads: action (8), colour (6) and shape (3). Each has a learned query that attends over
       all tokens, softmax(q K^T / sqrt(d)); its weights are where that head looked, per
       tubelet and per cell, and the weighted sum of tokens feeds a linear classifier.
  caption: "a {colour} {shape} is {action}", from the three heads' answers.

Loss (mmcore.train.video) is a weighted multi-task sum of the three cross-entropies.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, VideoMAEConfig, VideoMAEModel
from transformers.models.videomae.modeling_videomae import VideoMAEPreTrainedModel
from transformers.utils import ModelOutput

from ..shapesworld.render import COLOR_NAMES
from ..shapesworld.video import ACTIONS

SHAPE_NAMES = ("circle", "square", "triangle")
HEADS = ("action", "color", "shape")


class ShapesVideoConfig(VideoMAEConfig):
    model_type = "shapesworld-video"

    def __init__(
        self,
        actions: tuple[str, ...] = ACTIONS,  # the action head's classes, in order
        colors: tuple[str, ...] = COLOR_NAMES,  # the colour head's classes
        shapes: tuple[str, ...] = SHAPE_NAMES,  # the shape head's classes
        image_size: int = 64,  # frames are resized to this square
        patch_size: int = 16,  # 64 / 16 = a 4 x 4 grid per tubelet
        num_frames: int = 16,  # frames per clip
        tubelet_size: int = 2,  # frames per token: 8 tubelets in time
        hidden_size: int = 128,
        num_hidden_layers: int = 4,
        num_attention_heads: int = 4,
        intermediate_size: int = 256,
        **kwargs,
    ) -> None:
        self.actions, self.colors, self.shapes = list(actions), list(colors), list(shapes)
        kwargs.setdefault("use_mean_pooling", False)
        super().__init__(image_size=image_size, patch_size=patch_size, num_frames=num_frames,
                         tubelet_size=tubelet_size, hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                         num_attention_heads=num_attention_heads, intermediate_size=intermediate_size, **kwargs)

    @property
    def grid(self) -> tuple[int, int, int]:
        """(tubelets in time, rows, columns) of the token grid."""
        side = self.image_size // self.patch_size
        return self.num_frames // self.tubelet_size, side, side

    def classes(self, head: str) -> list[str]:
        return {"action": self.actions, "color": self.colors, "shape": self.shapes}[head]


@dataclass
class ShapesVideoOutput(ModelOutput):
    action_logits: torch.Tensor | None = None  # (B, 8)
    color_logits: torch.Tensor | None = None  # (B, 6): the colour in the first frame
    shape_logits: torch.Tensor | None = None  # (B, 3)
    pooling: torch.Tensor | None = None  # (B, 3 heads, N tokens): each head's attention pooling weights
    attentions: tuple[torch.Tensor, ...] | None = None  # per layer (B, heads, N, N), when asked


class ShapesVideoModel(VideoMAEPreTrainedModel):
    config_class = ShapesVideoConfig
    base_model_prefix = "videomae"

    def __init__(self, config: ShapesVideoConfig) -> None:
        super().__init__(config)
        d = config.hidden_size
        self.videomae = VideoMAEModel(config)
        self.norm = nn.LayerNorm(d)
        self.queries = nn.Parameter(torch.zeros(len(HEADS), d))
        self.heads = nn.ModuleDict({h: nn.Linear(d, len(config.classes(h))) for h in HEADS})
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, output_attentions: bool = False, **kwargs) -> ShapesVideoOutput:
        """pixel_values (B, T, 3, H, W), normalised as the image processor does."""
        out = self.videomae(pixel_values, output_attentions=output_attentions)
        tokens = self.norm(out.last_hidden_state)  # (B, N, d)
        weights = (tokens @ self.queries.T / tokens.shape[-1] ** 0.5).softmax(1).transpose(1, 2)  # (B, 3, N)
        pooled = weights @ tokens  # (B, 3, d)
        logits = {h: self.heads[h](pooled[:, i]) for i, h in enumerate(HEADS)}
        return ShapesVideoOutput(logits["action"], logits["color"], logits["shape"], weights,
                                 out.attentions if output_attentions else None)


AutoConfig.register(ShapesVideoConfig.model_type, ShapesVideoConfig)
AutoModel.register(ShapesVideoConfig, ShapesVideoModel)
