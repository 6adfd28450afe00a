"""Defense-GAN on Fashion-MNIST, evaluated with attacks that see through the projection (BPDA, EOT).

    python examples/defense_gan.py runs/gan/checkpoint.pt

The same as ``robustgan defense-gan --generator CKPT -n 100``: the defended model classifies G(z*),
z* found by 200 Adam steps from 10 random starts (the paper's MNIST defaults). PGD attacks it three
ways: naively (the projection's gradient is zero: a meaningless, high number), with BPDA (identity
backward pass) and with BPDA + EOT; every adversarial image is judged by the full defence. The
projection inside the attack uses L = 50, R = 2 to keep the run to minutes on a CPU.
"""
import sys

from robustgan.cli import main

generator = sys.argv[1] if len(sys.argv) > 1 else "runs/gan/checkpoint.pt"
sys.exit(main(["defense-gan", "--generator", generator, "-n", "100", "--attack-projection-steps", "50",
               "--attack-projection-restarts", "2", "--out", "runs/defense-gan"]))
