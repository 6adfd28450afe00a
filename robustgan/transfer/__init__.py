"""How adversarial examples crafted on one model fool others: the source × target success matrix."""
from .matrix import TransferResult, transfer_matrix

__all__ = ["TransferResult", "transfer_matrix"]
