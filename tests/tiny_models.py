"""Tiny random ViLT / BLIP VQA checkpoints for offline tests.

Each builder writes a folder that loads back with the usual `from_pretrained` calls
(model with `use_safetensors=True, attn_implementation="eager"`, processor as is) under
HF_HUB_OFFLINE=1. Weights are random but seeded, so two builds are identical.

Sizes follow bitsandbytes' 4-bit CPU rules for every encoder nn.Linear
(in_features % 64 == 0, out_features % 32 == 0): hidden 64, intermediate 128.
"""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    BertTokenizerFast,
    BlipConfig,
    BlipForQuestionAnswering,
    BlipImageProcessorPil,
    BlipProcessor,
    ViltConfig,
    ViltForQuestionAnswering,
    ViltImageProcessorPil,
    ViltProcessor,
)

SEED = 0
IMAGE_SIZE = 64
PATCH_SIZE = 16

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BLIP_BOS = "[DEC]"  # BLIP's decoder start token, as in Salesforce/blip-vqa-base

ANSWERS = ["square", "circle", "left", "right", "top", "bottom", "1", "2", "3", "4", "5", "6"]

WORDS = """
what is the shape of red green blue orange gray grey yellow purple black white brown pink
object objects square squares circle circles triangle triangles shape shapes color colour
left right top bottom middle center centre how many have same as on or at closest furthest
nearest farthest from to ? . , ' a an and are there this that these those it its in of
with without above below under over next near far behind front beside between than more
less fewer most least any all each every no not yes does do which where who why when
size big small large tiny huge bigger smaller larger same different other another one two
three four five six seven eight nine ten zero 0 1 2 3 4 5 6 7 8 9 count number total
image picture scene photo show shown see visible can be by for kind type side corner edge
half part row column first second third last only both either neither up down upper lower
""".split()


def _vocab(extra: list[str] = ()) -> dict[str, int]:
    """[PAD]=0 [UNK] [CLS] [SEP] [MASK], then `extra` specials, then plain words."""
    tokens = SPECIAL_TOKENS + list(extra) + WORDS
    unique = list(dict.fromkeys(tokens))
    return {token: index for index, token in enumerate(unique)}


def _tokenizer(vocab: dict[str, int], **special: str) -> BertTokenizerFast:
    # A dict vocab, not vocab_file=: transformers 5 silently ignores vocab_file here.
    return BertTokenizerFast(vocab=vocab, do_lower_case=True, **special)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _save(path: Path, model: torch.nn.Module, processor: object) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    processor.save_pretrained(path)
    return path


def _vilt_config(vocab_size: int) -> ViltConfig:
    labels = dict(enumerate(ANSWERS))
    return ViltConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        image_size=IMAGE_SIZE,
        patch_size=PATCH_SIZE,
        max_position_embeddings=40,
        num_labels=len(labels),
        id2label=labels,
        label2id={label: index for index, label in labels.items()},
        attn_implementation="eager",
    )


def _vilt_processor(vocab: dict[str, int]) -> ViltProcessor:
    # The PIL class: the default ViltImageProcessor needs torchvision, which we lack.
    images = ViltImageProcessorPil(
        size={"shortest_edge": IMAGE_SIZE}, size_divisor=PATCH_SIZE
    )
    return ViltProcessor(image_processor=images, tokenizer=_tokenizer(vocab))


def build_tiny_vilt_vqa(path: Path) -> Path:
    """Write a random ViltForQuestionAnswering (12 answers) + ViltProcessor to `path`."""
    vocab = _vocab()
    torch.manual_seed(SEED)
    model = ViltForQuestionAnswering(_vilt_config(_round_up(len(vocab), 32))).eval()
    return _save(Path(path), model, _vilt_processor(vocab))


def _blip_config(vocab: dict[str, int]) -> BlipConfig:
    text = dict(
        vocab_size=_round_up(len(vocab), 32),
        hidden_size=64,
        encoder_hidden_size=64,
        intermediate_size=128,
        projection_dim=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=64,
        bos_token_id=vocab[BLIP_BOS],
        eos_token_id=vocab["[SEP]"],
        sep_token_id=vocab["[SEP]"],
        pad_token_id=vocab["[PAD]"],
    )
    vision = dict(
        hidden_size=64,
        intermediate_size=128,
        projection_dim=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=IMAGE_SIZE,
        patch_size=PATCH_SIZE,
        initializer_range=0.02,  # the default 1e-10 makes every attention map flat
    )
    return BlipConfig(
        text_config=text, vision_config=vision, projection_dim=64, attn_implementation="eager"
    )


def _blip_processor(vocab: dict[str, int]) -> BlipProcessor:
    # The PIL class: the default BlipImageProcessor needs torchvision, which we lack.
    images = BlipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    tokenizer = _tokenizer(vocab, bos_token=BLIP_BOS)
    return BlipProcessor(image_processor=images, tokenizer=tokenizer)


def build_tiny_blip_vqa(path: Path) -> Path:
    """Write a random BlipForQuestionAnswering + BlipProcessor to `path`."""
    vocab = _vocab(extra=[BLIP_BOS])
    torch.manual_seed(SEED)
    model = BlipForQuestionAnswering(_blip_config(vocab)).eval()
    return _save(Path(path), model, _blip_processor(vocab))


def build_tiny_shapes_vqa(path: Path) -> Path:
    """Write a random (untrained) built-in ShapesWorld VQA model + processor to `path`.

    Same classes, processor and folder layout as the shipped model, at a smaller width,
    so tests of the built-in profile do not depend on the trained weights.
    """
    from mmcore.models import ShapesVQAConfig, ShapesVQAForQuestionAnswering
    from mmcore.train.vqa import question_processor

    processor = question_processor()
    config = ShapesVQAConfig(vocab_size=len(processor.tokenizer), hidden_size=64, cnn_channels=32,
                             num_attention_heads=4, text_layers=1, id2label=dict(enumerate(ANSWERS)))
    torch.manual_seed(SEED)
    return _save(Path(path), ShapesVQAForQuestionAnswering(config).eval(), processor)


def build_tiny_fusion_vqa(path: Path, fusion: str) -> Path:
    """Write a random fusion-strategy VQA model (mmcore.models.fusion_vqa) + processor to `path`."""
    from mmcore.models import ShapesFusionConfig, ShapesFusionForQuestionAnswering
    from mmcore.train.vqa import question_processor

    processor = question_processor()
    config = ShapesFusionConfig(fusion=fusion, vocab_size=len(processor.tokenizer), hidden_size=32, cnn_channels=16,
                                num_attention_heads=2, layers=2, id2label=dict(enumerate(ANSWERS)))
    torch.manual_seed(SEED)
    return _save(Path(path), ShapesFusionForQuestionAnswering(config).eval(), processor)


# ----------------------------------------------------------------------------- captioning
# Captioners for mmcore.adapters.caption_ved / caption_blip, same conventions as above.

from transformers import (  # noqa: E402  (appended section)
    BlipForConditionalGeneration,
    GPT2Config,
    TrOCRProcessor,
    ViTConfig,
    ViTImageProcessorPil,
    VisionEncoderDecoderConfig,
    VisionEncoderDecoderModel,
)


def _vit_gpt2_config(vocab: dict[str, int]) -> VisionEncoderDecoderConfig:
    """ViT encoder + GPT-2 decoder with cross-attention, over a BERT word-piece vocab.

    GPT-2 never looks at token strings, so a BertTokenizerFast stands in for its BPE one
    (no offline GPT-2 vocab here). [CLS] starts every caption, [SEP] ends it, [PAD] pads;
    the same ids are set on the decoder and on the composite config (which generate reads).
    """
    ids = dict(bos_token_id=vocab["[CLS]"], eos_token_id=vocab["[SEP]"], pad_token_id=vocab["[PAD]"])
    encoder = ViTConfig(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        image_size=IMAGE_SIZE,
        patch_size=PATCH_SIZE,
    )
    decoder = GPT2Config(
        vocab_size=_round_up(len(vocab), 32),
        n_embd=64,
        n_layer=2,
        n_head=4,
        n_inner=128,
        n_positions=64,
        add_cross_attention=True,
        # Untied: with random tied weights the output mirrors the input embedding, so
        # greedy decoding repeats [CLS] forever and the caption has no ordinary token.
        tie_word_embeddings=False,
        **ids,
    )
    return VisionEncoderDecoderConfig.from_encoder_decoder_configs(
        encoder, decoder, decoder_start_token_id=vocab["[CLS]"], attn_implementation="eager", **ids
    )


def build_tiny_vit_gpt2_captioner(path: Path) -> Path:
    """Write a random VisionEncoderDecoderModel (ViT + GPT-2) + TrOCRProcessor to `path`.

    TrOCRProcessor is transformers' stock (image processor, tokenizer) pair for
    VisionEncoderDecoder models; `AutoProcessor.from_pretrained(path)` loads it back.
    """
    vocab = _vocab()
    torch.manual_seed(SEED)
    model = VisionEncoderDecoderModel(_vit_gpt2_config(vocab)).eval()
    # The PIL class: the default ViTImageProcessor needs torchvision, which we lack.
    images = ViTImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    processor = TrOCRProcessor(image_processor=images, tokenizer=_tokenizer(vocab))
    return _save(Path(path), model, processor)


def build_tiny_blip_captioner(path: Path) -> Path:
    """Write a random BlipForConditionalGeneration + BlipProcessor to `path`."""
    vocab = _vocab(extra=[BLIP_BOS])
    torch.manual_seed(SEED)
    model = BlipForConditionalGeneration(_blip_config(vocab)).eval()
    return _save(Path(path), model, _blip_processor(vocab))


def build_tiny_shapes_captioner(path: Path) -> Path:
    """Write a random (untrained) built-in ShapesWorld captioner: same classes, processor
    and layout as the shipped one, smaller."""
    from mmcore.train.caption import CaptionTrainConfig, build

    processor, model = build(CaptionTrainConfig(hidden=64, encoder_layers=1, decoder_layers=1))
    return _save(Path(path), model.eval(), processor)


# ----------------------------------------------------------------------------- sentiment
# The built-in text + face model, and the pretrained pair's families (a RoBERTa sequence
# classifier, CLIP), same conventions as above.

SENTIMENT_WORDS = "i love hate this it the is was a not very good bad great awful movie day food happy sad".split()


def build_tiny_shapes_sentiment(path: Path) -> Path:
    """Write a random built-in sentiment model (mmcore.models.sentiment) + its image processor."""
    from mmcore.models.processing import build_image_processor
    from mmcore.models.sentiment import ShapesSentimentConfig, ShapesSentimentModel

    config = ShapesSentimentConfig(hidden_size=32, cnn_channels=8, num_attention_heads=2)
    torch.manual_seed(SEED)
    return _save(Path(path), ShapesSentimentModel(config).eval(), build_image_processor(config.image_size))


def build_tiny_roberta_sentiment(path: Path) -> Path:
    """A random RobertaForSequenceClassification with cardiffnlp's labels; a BERT word-piece
    tokenizer stands in for RoBERTa's BPE (no offline RoBERTa vocabulary here)."""
    from transformers import RobertaConfig, RobertaForSequenceClassification

    vocab = _vocab(extra=SENTIMENT_WORDS)
    config = RobertaConfig(vocab_size=_round_up(len(vocab), 32), hidden_size=64, num_hidden_layers=1,
                           num_attention_heads=4, intermediate_size=128, max_position_embeddings=80,
                           pad_token_id=0, bos_token_id=2, eos_token_id=3,
                           id2label={0: "negative", 1: "neutral", 2: "positive"})
    torch.manual_seed(SEED)
    return _save(Path(path), RobertaForSequenceClassification(config).eval(), _tokenizer(vocab))


def build_tiny_clip(path: Path) -> Path:
    """A random CLIPModel (32 px images, 8 px patches) + CLIPProcessor with a word-piece tokenizer."""
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

    vocab = _vocab(extra=SENTIMENT_WORDS + "photo face person picture with joyful cheerful smiling frowning angry "
                                           "upset gloomy neutral expression calm expressionless ordinary an or".split())
    ids = dict(pad_token_id=0, bos_token_id=vocab["[CLS]"], eos_token_id=vocab["[SEP]"])
    text = dict(vocab_size=_round_up(len(vocab), 32), hidden_size=64, num_hidden_layers=1, num_attention_heads=4,
                intermediate_size=128, max_position_embeddings=40, **ids)
    vision = dict(image_size=32, patch_size=8, hidden_size=64, num_hidden_layers=1, num_attention_heads=4,
                  intermediate_size=128)
    torch.manual_seed(SEED)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)).eval()
    images = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return _save(Path(path), model, CLIPProcessor(image_processor=images, tokenizer=_tokenizer(vocab)))


# ----------------------------------------------------------------------------- video


def build_tiny_shapes_video(path: Path) -> Path:
    """A random built-in video model (mmcore.models.video) + its image processor."""
    from mmcore.models.video import ShapesVideoConfig, ShapesVideoModel
    from mmcore.train.video import build_processor

    config = ShapesVideoConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    torch.manual_seed(SEED)
    return _save(Path(path), ShapesVideoModel(config).eval(), build_processor(config))


def _videomae_processor(size: int):
    from transformers.models.videomae.image_processing_pil_videomae import VideoMAEImageProcessorPil

    return VideoMAEImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size})


def build_tiny_videomae_kinetics(path: Path) -> Path:
    """A random VideoMAEForVideoClassification (16 frames, 32 px) with 5 Kinetics-like labels."""
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    labels = ["abseiling", "air drumming", "archery", "bowling", "cooking"]
    config = VideoMAEConfig(image_size=32, patch_size=16, num_frames=16, tubelet_size=2, hidden_size=64,
                            num_hidden_layers=1, num_attention_heads=4, intermediate_size=128,
                            id2label=dict(enumerate(labels)))
    torch.manual_seed(SEED)
    return _save(Path(path), VideoMAEForVideoClassification(config).eval(), _videomae_processor(32))


def build_tiny_xclip(path: Path) -> Path:
    """A random XCLIPModel (8 frames, 32 px, 8 px patches) + XCLIPProcessor with a word-piece tokenizer."""
    from transformers import XCLIPConfig, XCLIPModel, XCLIPProcessor

    vocab = _vocab(extra="moving growing rotating shrinking changing color cooking dancing".split())
    ids = dict(pad_token_id=0, bos_token_id=vocab["[CLS]"], eos_token_id=vocab["[SEP]"])
    text = dict(vocab_size=_round_up(len(vocab), 32), hidden_size=64, num_hidden_layers=1, num_attention_heads=4,
                intermediate_size=128, max_position_embeddings=40, **ids)
    vision = dict(image_size=32, patch_size=8, hidden_size=64, num_hidden_layers=1, num_attention_heads=4,
                  intermediate_size=128, num_frames=8, mit_hidden_size=64, mit_intermediate_size=128,
                  mit_num_hidden_layers=1, mit_num_attention_heads=4)
    torch.manual_seed(SEED)
    config = XCLIPConfig(text_config=text, vision_config=vision, projection_dim=64, prompt_layers=1,
                         prompt_num_attention_heads=4)
    model = XCLIPModel(config).eval()
    return _save(Path(path), model, XCLIPProcessor(image_processor=_videomae_processor(32), tokenizer=_tokenizer(vocab)))
