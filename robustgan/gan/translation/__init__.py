"""Image-to-image GANs on Fashion-MNIST: pix2pix, CycleGAN, SRGAN, StarGAN, with their tasks, losses,
a resumable trainer, checkpoints and quality metrics. Every generator maps a source batch in [0, 1]
to images in [0, 1] and exposes ``source_shape``; StarGAN's fixes a domain with ``to_domain(d)``."""
from .build import FORMAT, load_translation_checkpoint, load_translator, save_translator, translate
from .config import ARCHS, TranslationConfig
from .networks import (DomainTranslator, PatchDiscriminator, SRDiscriminator, SRGenerator, StarCritique,
                       StarDiscriminator, StarGenerator, UNetGenerator)
from .pool import ImagePool
from .quality import psnr, ssim, translation_quality
from .tasks import TASKS, TranslationTask, make_task
from .trainer import TranslationRun, train_translation

__all__ = [
    "ARCHS", "DomainTranslator", "FORMAT", "ImagePool", "PatchDiscriminator", "SRDiscriminator", "SRGenerator",
    "StarCritique", "StarDiscriminator", "StarGenerator", "TASKS", "TranslationConfig", "TranslationRun",
    "TranslationTask", "UNetGenerator", "load_translation_checkpoint", "load_translator", "make_task", "psnr",
    "save_translator", "ssim", "train_translation", "translate", "translation_quality",
]
