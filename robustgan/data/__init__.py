"""Real data, offline: Fashion-MNIST from local files (or a shipped sample), CIFAR-10, image folders."""
from .datasets import DataInfo, load_dataset, take
from .fmnist import CLASSES as FASHION_MNIST_CLASSES
from .fmnist import embedded_sample, fashion_mnist
from .idx import read_idx

__all__ = ["DataInfo", "FASHION_MNIST_CLASSES", "embedded_sample", "fashion_mnist", "load_dataset", "read_idx", "take"]
