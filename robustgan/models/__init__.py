"""Model wrapping (normalisation inside), a small zoo, feature taps and safe checkpoints."""
from ..optim.freeze import frozen
from ..optim.taps import tapped
from .checkpoint import atomic_save, checkpoint_meta, load_classifier, model_fingerprint, safe_load, save_classifier
from .normalized import Normalized
from .sources import is_torchscript, load_model, load_onnx, load_robustbench, robustbench_path
from .zoo import ARCHITECTURES, SmallCNN, SmallResNet, build_model

__all__ = [
    "ARCHITECTURES", "Normalized", "SmallCNN", "SmallResNet", "atomic_save", "build_model",
    "checkpoint_meta", "frozen", "is_torchscript", "load_classifier", "load_model", "load_onnx", "load_robustbench", "robustbench_path", "model_fingerprint", "safe_load", "save_classifier",
    "tapped",
]
