"""The built-in multimodal sentiment model: text, face, and three ways to fuse them.

  text:  two token sets in one stream, after a [CLS] that starts from both sentence
         summaries: VADER's reading of each word (mmcore.lexicon: rule-adjusted valence,
         negation, booster, caps, ...) and the word-piece states of a sentence
         encoder (all-MiniLM-L6-v2, mmcore.text_encoder), each projected to d
         -> `text_layers` transformer layers.                     t = CLS  (B, d)
  image: CNN stem, 75x75 -> 15x15 tokens (5x5 px each) + position -> `image_layers`
         layers -> a learned query attention-pools the tokens (its weights are the
         image map).                                            v = pooled (B, d)
  heads: text (t), image (v), and the fused sentiment three ways:
    late:   p = w p_text + (1 - w) p_image, one learned weight w: a weighted average of
            the two modalities' own probabilities. It cannot say "neutral" for a happy
            face with an angry sentence unless one side is itself unsure.
    early:  an MLP over [t; v]: one joint head over both modalities' features.
    hybrid: co-attention: word tokens attend to image tokens and image tokens to words
            (each may also attend to a learned "nothing" token), then a head over the
            updated [CLS] and the pooled image.
A missing modality is a learned "absent" vector (early), a masked key (hybrid) or drops
out of the average (late); training drops modalities at random so all three handle it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, BertConfig, PreTrainedConfig
from transformers.models.bert.modeling_bert import BertLayer
from transformers.utils import ModelOutput

from .. import text_encoder
from .fusion_vqa import Block, _stack
from .shapes_vqa import ShapesVQAPreTrainedModel

LABELS = ("positive", "negative", "neutral")
STRATEGIES = ("late", "early", "hybrid")


class ShapesSentimentConfig(PreTrainedConfig):
    model_type = "shapesworld-sentiment"

    def __init__(
        self,
        image_size: int = 75,  # the image processor resizes every image to this square
        stride: int = 5,  # CNN output stride: 75 / 5 = a 15 x 15 token grid
        cnn_channels: int = 32,  # channels of the CNN stem
        hidden_size: int = 64,  # width of every token and layer
        num_attention_heads: int = 4,  # heads of every attention layer
        text_layers: int = 1,  # self-attention layers over the words
        image_layers: int = 1,  # self-attention layers over the image tokens
        token_features: int = 8,  # per-word VADER features (mmcore.lexicon.TOKEN_FEATURES)
        sentence_features: int = 8,  # per-text VADER features (mmcore.lexicon.SENTENCE_FEATURES)
        encoder_size: int = 384,  # width of the sentence encoder's states
        encoder: str = "sentence-transformers/all-MiniLM-L6-v2",  # which encoder (mmcore.text_encoder)
        encoder_dropout: float = 0.3,  # dropout on the encoder's states while training: the text side
        # memorises its training sentences otherwise, and the fusion heads learn to trust it blindly
        max_text_tokens: int = 64,  # VADER words read per text (the encoder reads up to 128 pieces)
        tuned_layers: int = 0,  # top encoder layers this model carries and fine-tunes (0: encoder all frozen)
        encoder_layer: dict | None = None,  # those layers' BertLayer fields (default: text_encoder.LAYER_FIELDS)
        **kwargs,
    ) -> None:
        self.image_size = image_size
        self.stride = stride
        self.cnn_channels = cnn_channels
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.text_layers = text_layers
        self.image_layers = image_layers
        self.token_features = token_features
        self.sentence_features = sentence_features
        self.encoder_size = encoder_size
        self.encoder = encoder
        self.encoder_dropout = encoder_dropout
        self.max_text_tokens = max_text_tokens
        self.tuned_layers = tuned_layers
        self.encoder_layer = dict(encoder_layer or text_encoder.LAYER_FIELDS)
        kwargs.setdefault("id2label", dict(enumerate(LABELS)))
        super().__init__(**kwargs)

    @property
    def grid(self) -> int:
        return self.image_size // self.stride


@dataclass
class ShapesSentimentOutput(ModelOutput):
    text_logits: torch.Tensor | None = None  # (B, 3) the text's own sentiment
    image_logits: torch.Tensor | None = None  # (B, 3) the face's own sentiment
    late_logits: torch.Tensor | None = None  # (B, 3) log of the weighted average of probabilities
    early_logits: torch.Tensor | None = None  # (B, 3)
    hybrid_logits: torch.Tensor | None = None  # (B, 3)
    image_attention: torch.Tensor | None = None  # (B, N) pooling weights over the image tokens
    cross_attention: torch.Tensor | None = None  # (B, N) hybrid: the text [CLS]'s weights over image tokens
    word_attention: torch.Tensor | None = None  # (B, T) the text [CLS]'s weights over the words
    text_weight: torch.Tensor | None = None  # () late fusion's learned weight w of the text


class ShapesSentimentPreTrainedModel(ShapesVQAPreTrainedModel):
    """The built-in models' initialisation (He for the CNN, Xavier for the rest)."""

    config_class = ShapesSentimentConfig
    base_model_prefix = "shapes_sentiment"


class ShapesSentimentModel(ShapesSentimentPreTrainedModel):
    def __init__(self, config: ShapesSentimentConfig) -> None:
        super().__init__(config)
        d, c, h = config.hidden_size, config.cnn_channels, config.num_attention_heads
        self.stem = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, d, config.stride, stride=config.stride))  # (B, d, 15, 15)
        self.image_pos = nn.Parameter(torch.zeros(config.grid**2, d))
        self.image_layers = _stack(d, h, config.image_layers)
        self.pool_query = nn.Parameter(torch.zeros(d))
        self.token_proj = nn.Linear(config.token_features, d)
        self.piece_proj = nn.Sequential(nn.Dropout(config.encoder_dropout), nn.Linear(config.encoder_size, d))
        self.text_pos = nn.Parameter(torch.zeros(config.max_text_tokens + 1, d))
        self.token_type = nn.Parameter(torch.zeros(2, d))  # [VADER word, encoder word piece]
        self.cls_proj = nn.Linear(config.sentence_features, d)
        self.pooled_proj = nn.Sequential(nn.Dropout(config.encoder_dropout), nn.Linear(config.encoder_size, d))
        self.text_layers = _stack(d, h, config.text_layers)
        bert = BertConfig(**config.encoder_layer, attn_implementation="eager")
        self.encoder_top = nn.ModuleList(BertLayer(bert, layer_idx=i) for i in range(config.tuned_layers))
        self.norm = nn.LayerNorm(d)
        self.absent = nn.Parameter(torch.zeros(2, d))  # early fusion's stand-in for [text, image]
        self.nothing = nn.Parameter(torch.zeros(2, d))  # hybrid's extra key: [for words, for image]
        self.to_image, self.to_text = Block(d, h), Block(d, h)
        self.text_head, self.image_head = _head(d, 1), _head(d, 1)
        self.early_head, self.hybrid_head = _head(d, 2), _head(d, 2)
        self.late_weight = nn.Parameter(torch.zeros(()))  # sigmoid -> w of the text
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, token_features: torch.Tensor, text_mask: torch.Tensor,
                sentence_features: torch.Tensor, encoder_states: torch.Tensor, encoder_mask: torch.Tensor,
                encoder_pooled: torch.Tensor, has_text: torch.Tensor, has_image: torch.Tensor,
                encoder_tuned: bool = False, **kwargs) -> ShapesSentimentOutput:
        """pixel_values (B, 3, 75, 75); token_features (B, T, F), text_mask (B, T): VADER's
        words; sentence_features (B, S); encoder_states (B, P, 384), encoder_mask (B, P),
        encoder_pooled (B, 384): the sentence encoder's (below the tuned layers, if any:
        then the pooled vector is recomputed from the tuned states, unless `encoder_tuned`
        says the caller already ran them: see tune_encoder); has_text, has_image (B,) bool.
        A missing modality's inputs may be anything (zeros): they are masked."""
        image, pool_w = self._image(pixel_values)  # (B, N, d), (B, N)
        if not encoder_tuned:
            encoder_states, encoder_pooled = self.tune_encoder(encoder_states, encoder_mask, encoder_pooled)
        words, word_w = self._text(token_features, text_mask, sentence_features,
                                   encoder_states, encoder_mask, encoder_pooled)  # (B, 1+T+P, d)
        text_mask = torch.cat([text_mask, encoder_mask], 1)
        t, v = self.norm(words[:, 0]), self.norm((pool_w[..., None] * image).sum(1))
        text_logits, image_logits = self.text_head(t), self.image_head(v)
        w = torch.sigmoid(self.late_weight)
        late = self._late(text_logits, image_logits, w, has_text, has_image)
        early = self.early_head(torch.cat([torch.where(has_text[:, None], t, self.absent[0]),
                                           torch.where(has_image[:, None], v, self.absent[1])], -1))
        hybrid, cross = self._hybrid(words, image, pool_w, text_mask, has_text, has_image)
        return ShapesSentimentOutput(text_logits, image_logits, late, early, hybrid, pool_w, cross, word_w, w)

    def _image(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.stem(pixel_values).flatten(2).transpose(1, 2) + self.image_pos  # (B, N, d)
        for block in self.image_layers:
            x, _ = block(x)
        scores = x @ self.pool_query / x.shape[-1] ** 0.5  # (B, N)
        return x, scores.softmax(-1)

    def tune_encoder(self, states: torch.Tensor, mask: torch.Tensor,
                     pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The tuned top encoder layers over the frozen layers' states (B, P, 384) -> the same
        shape, and their sentence embedding (B, 384); unchanged without tuned layers. A caller
        that runs the same texts in several rows (the adapter: with and without the image)
        runs this once and passes encoder_tuned=True."""
        if not self.config.tuned_layers:
            return states, pooled
        bias = (1.0 - mask[:, None, None, :].to(states.dtype)) * torch.finfo(states.dtype).min  # (B, 1, 1, P)
        for layer in self.encoder_top:
            states = layer(states, attention_mask=bias)
        return states, text_encoder.sentence_embedding(states, mask)

    def _text(self, feats, mask, sentence, states, piece_mask, pooled) -> tuple[torch.Tensor, torch.Tensor]:
        """-> [CLS; VADER words; word pieces] (B, 1+T+P, d) and the [CLS]'s weights over the
        VADER words (B, T), mean of heads."""
        cls = self.cls_proj(sentence) + self.pooled_proj(pooled)  # (B, d)
        words = self.token_proj(feats) + self.token_type[0]  # (B, T, d)
        head = torch.cat([cls[:, None], words], 1) + self.text_pos[: words.shape[1] + 1]
        x = torch.cat([head, self.piece_proj(states) + self.token_type[1]], 1)
        keep = torch.cat([mask.new_ones(mask.shape[0], 1), mask, piece_mask], 1)  # [CLS] always kept
        w = None
        for block in self.text_layers:
            x, w = block(x, kv_pad=keep == 0)
        return x, w[:, :, 0, 1:1 + feats.shape[1]].mean(1)

    @staticmethod
    def _late(text_logits, image_logits, w, has_text, has_image) -> torch.Tensor:
        """log(w p_text + (1 - w) p_image); a missing side's weight goes to the other.

        The two sides' probabilities are detached: late fusion learns only w, and each side
        stays what its own head says (the pair loss would otherwise pull a happy face's own
        reading towards neutral whenever the sentence is angry)."""
        wt = torch.where(has_text, torch.where(has_image, w, 1.0), 0.0)[:, None]
        p = wt * text_logits.detach().softmax(-1) + (1 - wt) * image_logits.detach().softmax(-1)
        return p.clamp_min(1e-8).log()

    def _hybrid(self, words, image, pool_w, text_mask, has_text, has_image):
        """One co-attention layer each way, each side also free to attend to "nothing"."""
        b = words.shape[0]
        img_kv = torch.cat([self.nothing[1].expand(b, 1, -1), image], 1)
        img_pad = torch.cat([has_image.new_zeros(b, 1), (~has_image)[:, None].expand(-1, image.shape[1])], 1)
        txt_kv = torch.cat([self.nothing[0].expand(b, 1, -1), words], 1)
        txt_ok = torch.cat([text_mask.new_ones(b, 1), text_mask], 1) != 0
        txt_pad = torch.cat([has_text.new_zeros(b, 1), ~(txt_ok & has_text[:, None])], 1)
        new_words, w = self.to_image(words, kv=img_kv, kv_pad=img_pad)
        new_image, _ = self.to_text(image, kv=txt_kv, kv_pad=txt_pad)
        t = torch.where(has_text[:, None], self.norm(new_words[:, 0]), self.absent[0])
        v = torch.where(has_image[:, None], self.norm((pool_w[..., None] * new_image).sum(1)), self.absent[1])
        return self.hybrid_head(torch.cat([t, v], -1)), w[:, :, 0, 1:].mean(1)  # (B, 3), (B, N)


def _head(d: int, inputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs * d, d), nn.GELU(), nn.Linear(d, len(LABELS)))


def fused_target(text_label: torch.Tensor, image_label: torch.Tensor, has_text: torch.Tensor,
                 has_image: torch.Tensor) -> torch.Tensor:
    """The pair's label: the sign of the sum of polarities (positive +1, negative -1,
    neutral or missing 0). Agreeing pairs keep their label; one neutral side lets the
    other decide; a positive side and a negative side cancel to neutral ("mixed")."""
    polarity = torch.tensor([1, -1, 0], device=text_label.device)
    total = polarity[text_label] * has_text + polarity[image_label] * has_image
    return torch.where(total > 0, 0, torch.where(total < 0, 1, 2))


AutoConfig.register(ShapesSentimentConfig.model_type, ShapesSentimentConfig)
AutoModel.register(ShapesSentimentConfig, ShapesSentimentModel)
