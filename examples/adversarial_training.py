"""Adversarially train a small CNN (PGD-AT, Madry et al. 2018) and compare it with the shipped standard model.

Run: python examples/adversarial_training.py            (a few CPU minutes on 4,096 images)
     torchrun --nproc_per_node 2 examples/adversarial_training.py   (the same script on 2 processes)

Swap ``"pgd"`` for ``"fgsm-rs"`` (Wong et al. 2020) or ``"trades"`` (Zhang et al. 2019).
"""
from torch.utils.data import Subset

from robustgan.data import load_dataset
from robustgan.models import Normalized, SmallCNN, load_classifier
from robustgan.models.default import default_checkpoint_path
from robustgan.train import AdversarialConfig, TrainConfig, accuracy, is_main_process, train_classifier
from robustgan.train.job import robust_accuracy

train, _ = load_dataset("fashion-mnist", "train")
test, _ = load_dataset("fashion-mnist", "test")
test = Subset(test, range(500))

model = Normalized(SmallCNN(), mean=(0.286,), std=(0.353,))
config = TrainConfig(epochs=2, batch_size=128, seed=0,
                     adversarial=AdversarialConfig("pgd", eps=0.1, steps=7))  # 7 steps of 2.5ε/7
train_classifier(model, Subset(train, range(4096)), config, checkpoint="runs/example-pgd-at.train.pt")

if is_main_process():  # under torchrun only rank 0 reports
    standard = load_classifier(default_checkpoint_path())
    for name, m in (("standard (shipped)", standard), ("PGD-AT (this run)", model)):
        print(f"{name:>20}: clean {accuracy(m, test):.3f}, "
              f"PGD-20 L∞ ε=0.1 {robust_accuracy(m, test, 0.1, steps=20, n=len(test)):.3f}")
