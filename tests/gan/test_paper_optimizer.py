"""Per-architecture Adam settings of the papers: opt-in overrides, DCGAN's defaults untouched."""
from robustgan.gan import GANConfig
from robustgan.gan.optimizers import paper_optimizer


def test_equalised_lr_generators_get_their_papers_adam_and_the_others_nothing():
    for arch in ("progressive", "style"):
        over = paper_optimizer(arch)
        assert over == {"optimizer": "adam", "lr_g": 1e-3, "lr_d": 1e-3, "betas": (0.0, 0.99)}
        cfg = GANConfig(arch=arch, **over)
        assert (cfg.lr_g, cfg.lr_d, tuple(cfg.betas)) == (1e-3, 1e-3, (0.0, 0.99))
    assert paper_optimizer("dcgan") == {} and paper_optimizer("lapgan") == {}
