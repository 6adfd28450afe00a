"""The attack zoo: each attack is a short recipe over :func:`robustgan.optim.optimize`."""
from ._common import AttackResult
from .apgd import apgd, apgd_targeted
from .cw import cw_l2
from .ddn import ddn
from .deepfool import deepfool
from .fab import fab_targeted
from .fgsm import fgsm
from .fmn import fmn
from .lbfgs import lbfgs
from .pgd import mifgsm, pgd
from .square import square
from .transfer import difgsm, tifgsm, vmifgsm

ATTACKS = {"fgsm": fgsm, "pgd": pgd, "mifgsm": mifgsm, "lbfgs": lbfgs, "cw": cw_l2, "apgd": apgd,
           "apgd-t": apgd_targeted, "fab-t": fab_targeted, "square": square}
ATTACKS["fmn"] = fmn
ATTACKS["ddn"] = ddn
ATTACKS["deepfool"] = deepfool
ATTACKS.update({"difgsm": difgsm, "tifgsm": tifgsm, "vmifgsm": vmifgsm})

__all__ = ["ATTACKS", "AttackResult", "apgd", "apgd_targeted", "fab_targeted", "square", "cw_l2", "fgsm", "lbfgs", "mifgsm", "pgd"]
__all__ += ["ddn", "fmn"]
__all__ += ["deepfool"]
__all__ += ["difgsm", "tifgsm", "vmifgsm"]
