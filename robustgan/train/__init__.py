"""Training classifiers: standard, adversarial (PGD-AT, FGSM-RS, TRADES), single or multi-process."""
from .adversarial import METHODS, AdversarialConfig, adversarial_batch_loss
from ..distributed import is_main_process
from .trainer import TrainConfig, TrainHistory, accuracy, train_classifier

__all__ = ["METHODS", "AdversarialConfig", "TrainConfig", "TrainHistory", "accuracy", "adversarial_batch_loss",
           "is_main_process", "train_classifier"]
