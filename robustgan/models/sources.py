"""Load a classifier to evaluate from wherever it lives: a robustgan checkpoint, a TorchScript
export, an ONNX file (converted to PyTorch by ``onnx2torch``, so gradients flow and every attack
works), a state dict (``.pt`` or ``.safetensors``) for a zoo / timm architecture named by the user,
or a checkpoint in RobustBench's local folder layout.

Every path reads weights with ``weights_only=True`` (TorchScript archives hold code by design: they
are loaded with ``torch.jit.load``, which does not unpickle arbitrary objects).
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Optional, Sequence, Union

import torch
from torch import nn

from ..validation import first_line
from .checkpoint import FORMAT, load_classifier, safe_load
from .normalized import Normalized
from .zoo import build_model


def is_torchscript(path: Union[str, Path]) -> bool:
    """TorchScript archives are zip files with a ``code/`` folder."""
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n or n.startswith("code/") for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _load_torchscript(path: Path, device: Union[str, torch.device]) -> nn.Module:
    """``torch.jit.load``, where a zip that only looks like TorchScript (a ``code/`` folder, but no
    valid archive) fails with a sentence naming the file instead of a C++ traceback."""
    import warnings

    try:
        with warnings.catch_warnings():  # torch's own deprecation notice of jit.load says nothing of this file
            warnings.filterwarnings("ignore", message=".*torch.jit.load.*deprecated", category=FutureWarning)
            return torch.jit.load(str(path), map_location=device).eval()
    except Exception as exc:  # RuntimeError from the C++ reader, or anything the archive's code raises
        raise ValueError(f"cannot read {path} as TorchScript: the zip has a code/ folder but is not a valid "
                         f"torch.jit.save archive ({first_line(exc)})") from None


def load_model(checkpoint: Optional[Union[str, Path]] = None, arch: Optional[str] = None,
               device: Union[str, torch.device] = "cpu", mean: Optional[Sequence[float]] = None,
               std: Optional[Sequence[float]] = None, **arch_kwargs) -> nn.Module:
    """The model to evaluate, in eval mode on ``device``.

    - ``checkpoint`` alone: a robustgan classifier checkpoint or a TorchScript file.
    - ``arch`` (``small-cnn``, ``small-resnet``, ``timm:<name>``) with ``checkpoint`` a state dict
      (or a dict holding one under ``state_dict``/``model``): the architecture is built with
      ``pretrained=False`` and the weights loaded; ``mean``/``std`` put input normalisation inside.
    """
    if checkpoint is None and arch is None:
        raise ValueError("give a checkpoint, an architecture, or both")
    if arch is None and (mean is not None or std is not None):  # a saved model carries its own normalisation
        raise ValueError("--mean/--std set the normalisation of a plain state dict: give them with --arch")
    if arch is None:
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}")
        if path.suffix.lower() == ".onnx":
            return load_onnx(path, device)
        if path.suffix.lower() == ".safetensors":
            raise ValueError(f"{path} is a safetensors state dict: name its architecture "
                             f"(--arch small-cnn | small-resnet | mlp | timm:<name>)")
        if is_torchscript(path):
            return _load_torchscript(path, device)
        ckpt = safe_load(path)
        if isinstance(ckpt, dict) and ckpt.get("format") == FORMAT:
            return load_classifier(path, device)
        raise ValueError(f"{path} is neither a robustgan classifier nor a TorchScript file; for a plain "
                         f"state dict name its architecture (--arch small-cnn | small-resnet | timm:<name>)")
    net = build_model(arch, **arch_kwargs)
    channels = arch_kwargs.get("in_channels", 3 if arch.startswith("timm:") else 1)
    model = Normalized(net, list(mean or [0.0] * channels), list(std or [1.0] * channels))
    if checkpoint is not None:
        load_weights(net, checkpoint, arch)
    return model.to(device).eval()


def read_state_dict(path: Union[str, Path]) -> dict:
    """A state dict from a ``.safetensors`` file or a ``torch.save`` one (``weights_only``), unwrapped
    from ``state_dict``/``model`` and stripped of the ``module.`` prefix DataParallel adds."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise ImportError("reading .safetensors needs the `safetensors` package: pip install safetensors") from None
        state = load_file(str(path))
    else:
        state = safe_load(path)
    if isinstance(state, dict):
        state = state.get("state_dict", state.get("model", state))
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds no state dict (a mapping of parameter names to tensors)")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}


def load_weights(net: nn.Module, checkpoint: Union[str, Path], what: str) -> None:
    try:
        net.load_state_dict(read_state_dict(checkpoint))
    except RuntimeError as exc:
        raise ValueError(f"{checkpoint}: weights do not fit {what!r}: {str(exc)[:300]}") from None


def load_onnx(path: Path, device: Union[str, torch.device] = "cpu") -> nn.Module:
    """An ONNX classifier as a PyTorch module (``onnx2torch``): differentiable, so attacks see its gradients."""
    try:
        import onnx2torch
    except ImportError:
        raise ImportError("ONNX models need the `onnx2torch` package: pip install 'robustgan[onnx]'") from None
    try:
        net = onnx2torch.convert(str(path))
    except Exception as exc:  # the converter raises whatever the graph provokes
        raise ValueError(f"cannot convert {path} from ONNX to PyTorch ({first_line(exc)})") from None
    return net.to(device).eval()


ROBUSTBENCH_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet": "imagenet"}
ROBUSTBENCH_THREATS = {"linf": "Linf", "l2": "L2", "corruptions": "corruptions"}


def robustbench_path(name: str, model_dir: Union[str, Path], dataset: str = "cifar10", threat: str = "Linf") -> Path:
    """Where RobustBench keeps a model: ``MODEL_DIR/DATASET/THREAT/NAME.pt``."""
    ds = ROBUSTBENCH_DATASETS.get(dataset.lower())
    tm = ROBUSTBENCH_THREATS.get(threat.lower())
    if ds is None or tm is None:
        raise ValueError(f"RobustBench dataset must be one of {sorted(ROBUSTBENCH_DATASETS)} and threat one of "
                         f"{sorted(ROBUSTBENCH_THREATS)}, got {dataset!r}, {threat!r}")
    return Path(model_dir) / ds / tm / f"{name}.pt"


def load_robustbench(name: str, model_dir: Union[str, Path], dataset: str = "cifar10", threat: str = "Linf",
                     arch: Optional[str] = None, device: Union[str, torch.device] = "cpu",
                     mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
                     **arch_kwargs) -> nn.Module:
    """A RobustBench model from its local folder, never downloaded.

    The architecture comes from the ``robustbench`` package's model zoo when it is installed, or from
    ``arch`` (a zoo / timm name, e.g. for a model trained with RobustBench's layout but not in its zoo).
    """
    path = robustbench_path(name, model_dir, dataset, threat)
    if not path.is_file():
        raise FileNotFoundError(f"no RobustBench checkpoint at {path} (this library never downloads; copy the file "
                                f"RobustBench wrote there, or point --model-dir at its models folder)")
    if arch is not None:
        return load_model(path, arch, device, mean, std, **arch_kwargs)
    try:  # the package itself first: a half-importable one (its zoo loads, its loaders do not) counts as absent
        import robustbench  # noqa: F401
        from robustbench.model_zoo import model_dicts
        from robustbench.model_zoo.enums import BenchmarkDataset, ThreatModel
    except Exception as exc:  # ImportError, or the package's own import-time dependencies
        raise ImportError(f"the architecture of {name!r} comes from the `robustbench` package, which cannot be "
                          f"imported here ({first_line(exc)}); install it, or name the architecture with --arch") from None
    zoo = model_dicts[BenchmarkDataset(ROBUSTBENCH_DATASETS[dataset.lower()])][ThreatModel(ROBUSTBENCH_THREATS[threat.lower()])]
    if name not in zoo:
        raise ValueError(f"{name!r} is not in RobustBench's {dataset} {threat} zoo")
    net = zoo[name]["model"]()
    state = read_state_dict(path)
    state = {(k[len("model."):] if k.startswith("model.") and not hasattr(net, "model") else k): v for k, v in state.items()}
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not fit RobustBench's {name}: {str(exc)[:300]}") from None
    return net.to(device).eval()
