"""robustgan: adversarial robustness on one differentiable-input optimiser."""
__version__ = "0.1.0"
