"""Non-robust features suffice (Ilyas et al. 2019): train on D_det and test on the true test set.

D_det moves each training image x (class y) toward class t = y + 1 with targeted L2 PGD on the
standard model (ε = 4, the last of 100 steps) and *labels it t*. To a human every label is wrong, yet a fresh model trained on it
classifies real test images above chance: the perturbations carry features of t.

Run: python examples/robust_features.py        (crafts 2,000 images: a few CPU minutes)
The whole table (D_R, D_NR, D_rand, D_det): robustgan experiment robust-features --scale small
"""
from torch.utils.data import Subset

from robustgan.data import load_dataset
from robustgan.features import CraftConfig, CraftedDataset, craft
from robustgan.models import Normalized, SmallCNN, load_classifier
from robustgan.models.default import default_checkpoint_path
from robustgan.train import TrainConfig, accuracy, train_classifier

standard = load_classifier(default_checkpoint_path())
train, _ = load_dataset("fashion-mnist", "train")
test, _ = load_dataset("fashion-mnist", "test")

# resumable: stop it at any time and run it again, finished shards are kept
manifest = craft(standard, train, "runs/example-d-det", CraftConfig(kind="det", count=2000, steps=100, eps=4.0),
                 num_classes=10)
d_det = CraftedDataset("runs/example-d-det")
print(f"D_det: {len(d_det)} images, the standard model predicts t on "
      f"{d_det.extras['target_reached'].float().mean():.1%} of them")

fresh = Normalized(SmallCNN(), mean=(0.286,), std=(0.353,))
train_classifier(fresh, d_det, TrainConfig(epochs=15, seed=0), progress=False)
print(f"trained on D_det only, accuracy on the real test set: {accuracy(fresh, Subset(test, range(2000))):.3f} "
      f"(chance 0.100)")
