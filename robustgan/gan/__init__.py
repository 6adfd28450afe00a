"""GANs: DCGAN models and variants, the loss table, a resumable trainer, offline metrics, latent tools."""
from .autoencoder import AutoencoderDiscriminator
from .build import build_models, load_checkpoint, load_generator
from .config import GANConfig
from .latent import attribute_vector, class_mean_latents, interpolation_grid, slerp, truncate, truncated_latent
from .metrics import (FeatureExtractor, class_counts, evaluate_samples, frechet_distance, generate, inception_fid,
                      kernel_distance, precision_recall)
from .models import Critique, DCGANDiscriminator, DCGANGenerator
from .registry import LOSSES, Hyper, LossSpec, get_loss, loss_names
from .trainer import GANRun, train_gan

__all__ = [
    "AutoencoderDiscriminator", "Critique", "DCGANDiscriminator", "DCGANGenerator", "FeatureExtractor", "GANConfig",
    "GANRun", "Hyper", "LOSSES", "LossSpec", "attribute_vector", "build_models", "class_counts", "class_mean_latents",
    "evaluate_samples", "frechet_distance", "generate", "get_loss", "inception_fid", "interpolation_grid",
    "kernel_distance", "load_checkpoint", "load_generator", "loss_names", "precision_recall", "slerp", "train_gan",
    "truncate", "truncated_latent",
]
