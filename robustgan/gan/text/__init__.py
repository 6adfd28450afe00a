"""Text-to-image GANs: GAN-CLS and GAN-INT (Reed et al. 2016) on captioned Fashion-MNIST."""
from .captions import CLASS_NAMES, attribute_buckets, caption_images, compose, measure
from .checkpoint import TextSampler, is_text_checkpoint, load_text_sampler
from .config import MODES, TextSettings
from .encoder import TextEncoder, pretrain_encoder
from .interpolation import caption_interpolation, embed_captions, sample_captions
from .losses import generator_loss, interpolate_embeddings, matching_aware_d_loss, naive_d_loss
from .models import MatchingDiscriminator, TextGenerator
from .trainer import TextGANRun, TextGANTrainer, train_text_gan
from .vocab import WORDS, UnknownWordError, decode, encode, tokenize

__all__ = [
    "CLASS_NAMES", "MODES", "MatchingDiscriminator", "TextEncoder", "TextGANRun", "TextGANTrainer", "TextGenerator",
    "TextSampler", "TextSettings", "UnknownWordError", "WORDS", "attribute_buckets", "caption_images",
    "caption_interpolation", "compose", "decode", "embed_captions", "encode", "generator_loss",
    "interpolate_embeddings", "is_text_checkpoint", "load_text_sampler", "matching_aware_d_loss", "measure",
    "naive_d_loss", "pretrain_encoder", "sample_captions", "tokenize", "train_text_gan",
]
