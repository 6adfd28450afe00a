"""Training classifiers (standard now; adversarial batches through ``perturb``)."""
from .trainer import TrainConfig, TrainHistory, accuracy, train_classifier

__all__ = ["TrainConfig", "TrainHistory", "accuracy", "train_classifier"]
