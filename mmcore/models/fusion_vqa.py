"""Three ShapesWorld VQA models that differ only in where the question meets the image.

Every strategy has the same parts of the same sizes: a CNN stem that cuts the 75x75 image
into 15x15 tokens (each with its position: the centre of the object covering it, from a
predicted offset, as in the built-in VQA model), word embeddings for the question, and
`layers` pre-norm transformer layers of width `hidden_size` per stream. Then:

  early:  one stream. Question tokens and image tokens are concatenated before the first
          layer; every layer is self-attention over both (ViLT-style single stream).
          The answer is read at the question's [CLS].
  late:   two streams that never see each other: `layers` question layers -> [CLS];
          `layers` image layers -> mean- and max-pooled into one vector. The two vectors
          meet only in the answer head (an MLP over [q, v, q*v]). The image vector is the
          same whatever the question, so it must hold everything any question may need.
  hybrid: two streams for the first half of the layers (question alone, image alone), then
          co-attention layers: the question tokens cross-attend to the image tokens, and
          the image tokens back to the question; answer at [CLS] (LXMERT / ViLBERT-style).

FLOPs per question differ: early runs every layer over image + question per question;
hybrid runs the image half once per image; late runs the whole image stream once.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModelForVisualQuestionAnswering, PreTrainedConfig
from transformers.utils import ModelOutput

from .shapes_vqa import ImageEncoder, ShapesVQAPreTrainedModel, _position_features, _positions

FUSIONS = ("early", "late", "hybrid")


class ShapesFusionConfig(PreTrainedConfig):
    model_type = "shapesworld-fusion-vqa"

    def __init__(
        self,
        fusion: str = "hybrid",  # where question and image meet: early | late | hybrid
        vocab_size: int = 256,  # word-level vocabulary of the question tokenizer
        image_size: int = 75,  # the processor resizes every image to this square
        stride: int = 5,  # CNN output stride: 75 / 5 = a 15 x 15 token grid
        cnn_channels: int = 64,  # channels of the CNN feature map
        hidden_size: int = 128,  # width of every token and layer
        num_attention_heads: int = 4,  # heads of every attention layer
        layers: int = 4,  # transformer layers per stream (early: joint layers)
        max_question_tokens: int = 40,  # longer questions are cut by the tokenizer
        **kwargs,
    ) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion!r}; accepted: {', '.join(FUSIONS)}")
        self.fusion = fusion
        self.vocab_size = vocab_size
        self.image_size = image_size
        self.stride = stride
        self.cnn_channels = cnn_channels
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.layers = layers
        self.max_question_tokens = max_question_tokens
        super().__init__(**kwargs)

    @property
    def grid(self) -> int:
        return self.image_size // self.stride


@dataclass
class ShapesFusionOutput(ModelOutput):
    logits: torch.Tensor | None = None  # (Q, num_labels), one row per question
    loss: torch.Tensor | None = None
    # per fusion layer, the question [CLS]'s attention over the image tokens (Q, heads, N),
    # renormalised over the image; late fusion has none (its question never looks)
    image_attentions: tuple[torch.Tensor, ...] | None = None
    # late fusion: per image token, the share of pooled channels whose max it supplies (Q, N)
    pool_share: torch.Tensor | None = None
    offsets: torch.Tensor | None = None  # (B, N, 2) predicted cell -> object-centre offset, in cells
    token_logits: torch.Tensor | None = None  # (B, N, 13) what covers each cell: background, or colour x shape


class Block(nn.Module):
    """Pre-norm transformer layer: attention (self, or cross to `kv`) then an MLP."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.norm_kv = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm_mlp = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x: torch.Tensor, kv: torch.Tensor | None = None,
                kv_pad: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, L, d), kv (B, S, d) or None (self) -> x and weights (B, heads, L, S)."""
        h = self.norm(x)
        src = h if kv is None else self.norm_kv(kv)
        a, w = self.attn(h, src, src, key_padding_mask=kv_pad, need_weights=True, average_attn_weights=False)
        x = x + a
        return x + self.mlp(self.norm_mlp(x)), w


def _stack(d: int, heads: int, n: int) -> nn.ModuleList:
    return nn.ModuleList(Block(d, heads) for _ in range(n))


def _image_part(w: torch.Tensor, start: int) -> torch.Tensor:
    """[CLS] row of (Q, h, L, S) weights over keys start.. -> (Q, h, N), summing to 1."""
    part = w[:, :, 0, start:]
    return part / part.sum(-1, keepdim=True).clamp_min(1e-8)


class ShapesFusionPreTrainedModel(ShapesVQAPreTrainedModel):
    """The built-in VQA model's initialisation (init_shapes_module), for the fusion config."""

    config_class = ShapesFusionConfig
    base_model_prefix = "shapes_fusion"


class ShapesFusionForQuestionAnswering(ShapesFusionPreTrainedModel):
    """One of the three strategies, chosen by config.fusion; see the module docstring."""

    def __init__(self, config: ShapesFusionConfig) -> None:
        super().__init__(config)
        d, c, h, n = config.hidden_size, config.cnn_channels, config.num_attention_heads, config.layers
        self.image_encoder = ImageEncoder(config)
        self.feature_proj = nn.Sequential(nn.Linear(c, d), nn.LayerNorm(d))
        self.position_proj = nn.Linear(5, d)
        self.offset = nn.Linear(c, 2)
        self.token_kind = nn.Linear(c, 13)  # background, or one of 6 colours x 2 shapes (training aid)
        self.word_embed = nn.Embedding(config.vocab_size, d, padding_idx=0)
        self.word_pos = nn.Embedding(config.max_question_tokens, d)
        self.modality = nn.Embedding(2, d)  # 0: question token, 1: image token
        if config.fusion == "early":
            self.joint = _stack(d, h, n)
        elif config.fusion == "late":
            self.text, self.image = _stack(d, h, n), _stack(d, h, n)
            self.pool = nn.Linear(2 * d, d)
        else:
            self.text, self.image = _stack(d, h, n // 2), _stack(d, h, n // 2)
            self.to_image, self.to_text = _stack(d, h, n - n // 2), _stack(d, h, n - n // 2)
        self.norm = nn.LayerNorm(d)
        width = 3 * d if config.fusion == "late" else d
        self.head = nn.Sequential(nn.Linear(width, 2 * d), nn.GELU(), nn.Linear(2 * d, config.num_labels))
        self.register_buffer("cell_positions", _positions(config.grid), persistent=False)
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> ShapesFusionOutput:
        """pixel_values (B, 3, 75, 75); input_ids (B*K, L): K consecutive questions per image."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        image, offsets, kinds = self._image_tokens(pixel_values)  # (B, N, d)
        words = self._question_tokens(input_ids)  # (Q, L, d)
        pad = attention_mask == 0  # (Q, L)
        image = image.repeat_interleave(words.shape[0] // image.shape[0], dim=0) if self.config.fusion == "early" else image
        fused, maps, share = getattr(self, f"_{self.config.fusion}")(image, words, pad)
        logits = self.head(fused)
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return ShapesFusionOutput(logits=logits, loss=loss, image_attentions=maps, pool_share=share, offsets=offsets,
                                  token_logits=kinds)

    def _image_tokens(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats = self.image_encoder(pixel_values)  # (B, N, C)
        offsets = self.offset(feats)  # (B, N, 2), in cells
        xy = self.cell_positions[None] + offsets * (2.0 / self.config.grid)  # its object's centre
        tokens = self.feature_proj(feats) + self.position_proj(_position_features(xy).to(feats.dtype))  # bf16: the buffer is fp32
        return tokens + self.modality.weight[1], offsets, self.token_kind(feats)

    def _question_tokens(self, input_ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        return self.word_embed(input_ids) + self.word_pos(pos)[None] + self.modality.weight[0]

    def _early(self, image: torch.Tensor, words: torch.Tensor, pad: torch.Tensor):
        """One stream over [question; image] (Q, L + N, d) from the first layer."""
        x = torch.cat([words, image], dim=1)
        mask = torch.cat([pad, pad.new_zeros(image.shape[:2])], dim=1)
        maps = []
        for block in self.joint:
            x, w = block(x, kv_pad=mask)
            maps.append(_image_part(w, words.shape[1]))
        return self.norm(x[:, 0]), tuple(maps), None

    def _late(self, image: torch.Tensor, words: torch.Tensor, pad: torch.Tensor):
        """Question and image encoded apart; they meet only in the head."""
        for block in self.text:
            words, _ = block(words, kv_pad=pad)
        for block in self.image:  # once per image, whatever the question
            image, _ = block(image)
        image = self.norm(image)
        top, winner = image.max(dim=1)  # (B, d): which token supplies each channel's max
        pooled = self.pool(torch.cat([image.mean(dim=1), top], dim=-1))  # (B, d)
        k = words.shape[0] // image.shape[0]
        pooled = pooled.repeat_interleave(k, dim=0)
        share = F.one_hot(winner, image.shape[1]).float().mean(1).repeat_interleave(k, dim=0)  # (Q, N)
        q = self.norm(words[:, 0])
        return torch.cat([q, pooled, q * pooled], dim=-1), (), share

    def _hybrid(self, image: torch.Tensor, words: torch.Tensor, pad: torch.Tensor):
        """Apart for the first half, then co-attention: question -> image, image -> question."""
        for block in self.text:
            words, _ = block(words, kv_pad=pad)
        for block in self.image:  # once per image
            image, _ = block(image)
        image = image.repeat_interleave(words.shape[0] // image.shape[0], dim=0)  # (Q, N, d)
        maps = []
        for to_image, to_text in zip(self.to_image, self.to_text):
            words, w = to_image(words, kv=image)
            maps.append(_image_part(w, 0))
            image, _ = to_text(image, kv=words, kv_pad=pad)
        return self.norm(words[:, 0]), tuple(maps), None


AutoConfig.register(ShapesFusionConfig.model_type, ShapesFusionConfig)
AutoModelForVisualQuestionAnswering.register(ShapesFusionConfig, ShapesFusionForQuestionAnswering)
