"""One meaning of ``--device`` for every command: ``auto`` (the default) picks CUDA when it is
available and the CPU otherwise; anything else must name a device this machine has."""
from __future__ import annotations

AUTO = "auto"


def resolve_device(name: str = AUTO) -> str:
    """The device string a job should use, or a ValueError that says why ``name`` cannot be used."""
    import torch  # here, not at import: `robustgan --help` starts without torch

    name = str(name).strip().lower()
    if name == AUTO:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda[:index]") from None
    if device.type == "cpu":
        return "cpu"
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {name}: this machine has no CUDA device (use --device auto or cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")
        return name
    if device.type == "mps" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    raise ValueError(f"--device {name}: not available on this machine; use auto, cpu or cuda[:index]")
