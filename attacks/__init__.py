"""The attack zoo: each attack is a short recipe over :func:`robustgan.optim.optimize`."""
from ._common import AttackResult
from .cw import cw_l2
from .fgsm import fgsm
from .lbfgs import lbfgs
from .pgd import mifgsm, pgd

ATTACKS = {"fgsm": fgsm, "pgd": pgd, "mifgsm": mifgsm, "lbfgs": lbfgs, "cw": cw_l2}

__all__ = ["ATTACKS", "AttackResult", "cw_l2", "fgsm", "lbfgs", "mifgsm", "pgd"]
