"""The built-in ShapesWorld VQA model: a two-hop cross-attention reader.

The question asks about one object by colour, and relational questions then about a
second object found from the first. So the model reads the image twice:

  image (B, 3, 75, 75) --CNN--> tokens (B, N=25*25, d), each with a position: its cell's
         centre, or (centre_offsets) the centre of the object covering it, from a predicted offset
  question --transformer--> q (B, d)
  hop 1: q attends over the tokens -> the named object (its shape, colour, position)
  hop 2: a query made from hop 1 attends again -> the object the answer is read from
         (closest / furthest are dot products of positions, so one hop can rank them)
  count: every token is scored "same shape as the named object" and weighted by an
         object-density map (each object's density sums to 1), summed -> a count
  head:  [hop 1, hop 2, count features] -> answer logits (12)

Every map the UI draws is an attention weight (or the count map) of this one forward.
Training (mmcore.train) supervises the hops' attention with the objects' masks, a
weighted multi-task loss; see the model card.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from transformers import (
    AutoConfig,
    AutoModelForVisualQuestionAnswering,
    PreTrainedConfig,
    PreTrainedModel,
)
from transformers import initialization as init
from transformers.utils import ModelOutput


class ShapesVQAConfig(PreTrainedConfig):
    model_type = "shapesworld-vqa"

    def __init__(
        self,
        vocab_size: int = 256,  # word-level vocabulary of the question tokenizer
        image_size: int = 75,  # the processor resizes every image to this square
        stride: int = 3,  # CNN output stride: 75 / 3 = a 25 x 25 token grid
        cnn_channels: int = 64,  # channels of the CNN feature map
        hidden_size: int = 128,  # width of tokens, question vector and hops
        num_attention_heads: int = 4,  # heads of each hop
        text_layers: int = 2,  # transformer layers of the question encoder
        max_question_tokens: int = 40,  # longer questions are cut by the tokenizer
        max_count: int = 6,  # the count features cover 1..max_count
        centre_offsets: bool = False,  # tokens carry their object's centre, not their cell's
        **kwargs,
    ) -> None:
        self.vocab_size = vocab_size
        self.image_size = image_size
        self.stride = stride
        self.cnn_channels = cnn_channels
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.text_layers = text_layers
        self.max_question_tokens = max_question_tokens
        self.max_count = max_count
        self.centre_offsets = centre_offsets
        super().__init__(**kwargs)

    @property
    def grid(self) -> int:
        return self.image_size // self.stride


@dataclass
class ShapesVQAOutput(ModelOutput):
    logits: torch.Tensor | None = None  # (B, num_labels)
    loss: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None  # per hop: (B, heads, N)
    count_map: torch.Tensor | None = None  # (B, N) same-shape x density
    count: torch.Tensor | None = None  # (B,) the soft count
    hop_logits: tuple[torch.Tensor, ...] | None = None  # per hop: (B, heads, N) pre-softmax
    same_shape_logits: torch.Tensor | None = None  # (B, N)
    density: torch.Tensor | None = None  # (B, N)
    offsets: torch.Tensor | None = None  # (B, N, 2) predicted cell -> object-centre offset, in cells


def _positions(grid: int) -> torch.Tensor:
    """(N, 2) cell centres (x, y) in [-1, 1]."""
    c = (torch.arange(grid, dtype=torch.float32) + 0.5) / grid * 2 - 1
    y, x = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=-1)


def _position_features(xy: torch.Tensor) -> torch.Tensor:
    """(..., 2) -> (..., 5): x, y, x^2 + y^2, x^2, y^2.

    Squared terms let one dot product q.k express -|p - x|^2 up to a constant, so a
    single attention hop can rank tokens by distance to a point p.
    """
    x, y = xy.unbind(-1)
    return torch.stack([x, y, x * x + y * y, x * x, y * y], dim=-1)


class ImageEncoder(nn.Module):
    """(B, 3, 75, 75) -> (B, N, C) cell features, N = (75 / stride)^2."""

    def __init__(self, cfg: ShapesVQAConfig) -> None:
        super().__init__()
        c = cfg.cnn_channels
        self.net = nn.Sequential(
            nn.Conv2d(3, c // 2, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c // 2, c, cfg.stride, stride=cfg.stride), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_values).flatten(2).transpose(1, 2)


class QuestionEncoder(nn.Module):
    """(B, L) token ids -> (B, d): a small transformer, read at the [CLS] position."""

    def __init__(self, cfg: ShapesVQAConfig) -> None:
        super().__init__()
        d = cfg.hidden_size
        self.embed = nn.Embedding(cfg.vocab_size, d, padding_idx=0)
        self.pos = nn.Embedding(cfg.max_question_tokens, d)
        layer = nn.TransformerEncoderLayer(d, cfg.num_attention_heads, 2 * d, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.text_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.embed(input_ids) + self.pos(pos)[None]
        x = self.encoder(x, src_key_padding_mask=attention_mask == 0)
        return self.norm(x[:, 0])


class Hop(nn.Module):
    """One query vector attending over the image tokens: softmax(q k^T / sqrt(d_h)) v."""

    def __init__(self, cfg: ShapesVQAConfig) -> None:
        super().__init__()
        d, self.heads = cfg.hidden_size, cfg.num_attention_heads
        self.q = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.out = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)

    def keys_values(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per image, once: (B, N, d) -> keys and values (B, h, N, d_h)."""
        b, n, d = tokens.shape
        k = self.k(tokens).view(b, n, self.heads, -1).transpose(1, 2)
        v = self.v(tokens).view(b, n, self.heads, -1).transpose(1, 2)
        return k, v

    def forward(self, query: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """query (B, K, d): K questions per image -> (B, K, d), weights and logits (B, K, h, N)."""
        k, v = kv  # (B, h, N, d_h)
        b, n_q, d = query.shape
        q = self.q(query).view(b, n_q, self.heads, -1).transpose(1, 2)  # (B, h, K, d_h)
        logits = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5  # (B, h, K, N)
        read = (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, n_q, d)  # (B, K, d)
        logits = logits.transpose(1, 2)  # (B, K, h, N)
        return self.norm(query + self.out(read)), logits.softmax(-1), logits


@torch.no_grad()
def init_shapes_module(module: nn.Module) -> bool:
    """He init for the ReLU CNN, Xavier for the rest; False for modules left to the library.

    The library default (normal, std 0.02) shrinks a 4-layer CNN's signal so much that
    colour binding stalls.
    """
    if isinstance(module, nn.Conv2d):
        init.kaiming_normal_(module.weight, nonlinearity="relu")
        init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        init.xavier_uniform_(module.weight)
        if module.bias is not None:
            init.zeros_(module.bias)
    elif isinstance(module, nn.MultiheadAttention):
        init.xavier_uniform_(module.in_proj_weight)
        init.zeros_(module.in_proj_bias)
    else:
        return False
    return True


class ShapesVQAPreTrainedModel(PreTrainedModel):
    config_class = ShapesVQAConfig
    base_model_prefix = "shapes_vqa"
    main_input_name = "pixel_values"
    _supports_sdpa = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        if not init_shapes_module(module):
            super()._init_weights(module)
        if module is self and hasattr(module, "cell_positions"):  # non-persistent: rebuilt on load
            init.copy_(module.cell_positions, _positions(self.config.grid))


class ShapesVQAForQuestionAnswering(ShapesVQAPreTrainedModel):
    """Built-in VQA model; see the module docstring for the architecture."""

    def __init__(self, config: ShapesVQAConfig) -> None:
        super().__init__(config)
        d, c = config.hidden_size, config.cnn_channels
        self.image_encoder = ImageEncoder(config)
        self.feature_proj = nn.Sequential(nn.Linear(c, d), nn.LayerNorm(d))
        self.position_proj = nn.Linear(5, d)
        self.question_encoder = QuestionEncoder(config)
        self.hop1, self.hop2 = Hop(config), Hop(config)
        self.same_shape_token = nn.Linear(d, d // 2)
        self.same_shape_query = nn.Linear(d, d // 2, bias=False)
        self.same_shape_out = nn.Linear(d // 2, 1)
        self.density = nn.Linear(c, 1)
        self.offset = nn.Linear(c, 2) if config.centre_offsets else None
        self.head = nn.Sequential(
            nn.Linear(2 * d + config.max_count, 2 * d), nn.GELU(), nn.Linear(2 * d, config.num_labels)
        )
        self.register_buffer("cell_positions", _positions(config.grid), persistent=False)
        self.post_init()

    def _count(self, feats: torch.Tensor, tokens: torch.Tensor, h1: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Soft count of objects shaped like the named one: map (B, K, N) and count (B, K).

        The pair MLP's first layer is split, W [t; h] = W_t t + W_h h, so the N-token
        half runs once per image rather than once per question.
        """
        per_token = self.same_shape_token(tokens)[:, None]  # (B, 1, N, d')
        per_query = self.same_shape_query(h1)[:, :, None]  # (B, K, 1, d')
        same_logits = self.same_shape_out(F.gelu(per_token + per_query)).squeeze(-1)  # (B, K, N)
        # the -4 offset starts the density near 0.02 a cell, the right order for 6 objects / 625 cells
        density = F.softplus(self.density(feats).squeeze(-1) - 4.0)[:, None]  # (B, 1, N), 1 per object
        count_map = same_logits.sigmoid() * density
        return count_map, count_map.sum(-1), same_logits, density

    def _count_features(self, count: torch.Tensor) -> torch.Tensor:
        """(..., ) soft count -> (..., max_count) radial features centred on 1..max_count."""
        centres = torch.arange(1, self.config.max_count + 1, device=count.device, dtype=count.dtype)
        return torch.exp(-((count[..., None] - centres) ** 2) / 0.18)

    def forward(
        self,
        pixel_values: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> ShapesVQAOutput:
        """input_ids (B*K, L): K consecutive questions per image (training asks each scene
        several); outputs are flattened back to one row per question."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        feats = self.image_encoder(pixel_values)  # (B, N, C)
        b = feats.shape[0]
        offsets = self.offset(feats) if self.offset is not None else None  # (B, N, 2), in cells
        tokens = self.feature_proj(feats) + self.position_proj(self._token_positions(offsets).to(feats.dtype))  # (B, N, d)
        q = self.question_encoder(input_ids, attention_mask).view(b, -1, tokens.shape[-1])  # (B, K, d)
        h1, w1, l1 = self.hop1(q, self.hop1.keys_values(tokens))
        h2, w2, l2 = self.hop2(h1, self.hop2.keys_values(tokens))
        count_map, count, same_logits, density = self._count(feats, tokens, h1)
        logits = self.head(torch.cat([h1, h2, self._count_features(count)], dim=-1))
        flat = lambda t: t.flatten(0, 1)  # (B, K, ...) -> (B*K, ...)
        logits, w1, w2, l1, l2 = map(flat, (logits, w1, w2, l1, l2))
        count_map, count, same_logits = map(flat, (count_map, count, same_logits))
        density = flat(density.expand_as(same_logits.view(b, -1, same_logits.shape[-1])))
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return ShapesVQAOutput(
            logits=logits, loss=loss, attentions=(w1, w2), count_map=count_map, count=count,
            hop_logits=(l1, l2), same_shape_logits=same_logits, density=density, offsets=offsets,
        )

    def _token_positions(self, offsets: torch.Tensor | None) -> torch.Tensor:
        """Position features of each token: its cell centre, or (centre_offsets) the centre
        of the object covering it, so distances between tokens are distances between objects."""
        xy = self.cell_positions[None]  # (1, N, 2)
        if offsets is not None:
            xy = xy + offsets * (2.0 / self.config.grid)
        return _position_features(xy)


AutoConfig.register(ShapesVQAConfig.model_type, ShapesVQAConfig)
AutoModelForVisualQuestionAnswering.register(ShapesVQAConfig, ShapesVQAForQuestionAnswering)
