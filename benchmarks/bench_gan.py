"""GAN training throughput: ``robustgan.gan.train_gan`` against the PyTorch DCGAN example's loop.

What it measures. The same DCGAN architecture (robustgan's 28×28 plan, ngf = ndf = ``--width``,
nz = 100), the same batch size (64, the example's default), the same optimiser (Adam, lr 2e-4,
β = (0.5, 0.999)) and the same Fashion-MNIST training images, held in memory and served by a
seeded permutation to both, trained for ``--iters`` generator steps by:

* a faithful re-implementation of the training loop of the official PyTorch example
  (github.com/pytorch/examples, ``dcgan/main.py``): D ends in a sigmoid and uses ``nn.BCELoss``;
  per iteration ``netD.zero_grad()``, ``errD_real.backward()`` on a real batch, ``fake = netG(noise)``,
  ``errD_fake.backward()`` on ``fake.detach()``, ``optimizerD.step()``, then ``netG.zero_grad()``,
  ``errG.backward()`` through ``netD(fake)`` and ``optimizerG.step()``, and the five ``.item()``
  calls of its progress line (the line is formatted, not printed; its image dumps every 100
  iterations and per-epoch checkpoints are left out, and so are robustgan's);
* ``train_gan`` with the non-saturating loss (the same objective, computed from logits).

Throughput is images per second of real data consumed (batch × iterations / wall time of the whole
call, model construction included), best of ``--repeats`` after one warm-up, the two methods
interleaved repeat by repeat so background load hits them alike; the process CPU time of the same
runs is reported beside it, as a second view that background load on a shared machine disturbs
less. ``--write`` puts the table into ``benchmarks/RESULTS.md`` (replacing an earlier copy of
this sub-section, or appending it).

With ``--device cuda`` both loops run on the GPU with the training images held in its memory (the
timings synchronise the device), and ``--write`` records its own ``gan-throughput-cuda`` section,
leaving the CPU figures alone; ``--out DIR`` also writes the table to ``DIR/<key>.md``.

    python benchmarks/bench_gan.py [--iters 60] [--repeats 3] [--width 64] [--device cuda] [--out DIR] [--write]
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.optim as optim

from robustgan.data import load_dataset
from robustgan.gan import GANConfig, train_gan
from robustgan.gan.models import PLANS

from results import write_section

NZ, BATCH, LR, BETA1 = 100, 64, 2e-4, 0.5
SECTION = "### GAN training throughput"


def weights_init(m: nn.Module) -> None:
    """The example's ``weights_init``."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """The example's ``Generator`` with robustgan's 28×28 layer plan (4·ngf → 2·ngf → ngf → nc)."""

    def __init__(self, ngf: int, nc: int = 1, size: int = 28):
        super().__init__()
        (k0, s0, p0), (k1, s1, p1), (k2, s2, p2), (k3, s3, p3) = PLANS[size]["g"]
        self.main = nn.Sequential(
            nn.ConvTranspose2d(NZ, ngf * 4, k0, s0, p0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, k1, s1, p1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, k2, s2, p2, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, k3, s3, p3, bias=False), nn.Tanh(),
        )

    def forward(self, x):
        return self.main(x)


class Discriminator(nn.Module):
    """The example's ``Discriminator`` (sigmoid output) with the mirrored 28×28 plan."""

    def __init__(self, ndf: int, nc: int = 1, size: int = 28):
        super().__init__()
        (k0, s0, p0), (k1, s1, p1), (k2, s2, p2), (k3, s3, p3) = PLANS[size]["d"]
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, k0, s0, p0, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, k1, s1, p1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, k2, s2, p2, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, 1, k3, s3, p3, bias=False), nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def reference_loop(images: torch.Tensor, iters: int, width: int, seed: int = 0, device="cpu") -> list:
    """The training loop of the PyTorch DCGAN example, on batches of an in-memory tensor."""
    torch.manual_seed(seed)
    device = torch.device(device)
    netG = Generator(width).to(device)
    netG.apply(weights_init)
    netD = Discriminator(width).to(device)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = optim.Adam(netD.parameters(), lr=LR, betas=(BETA1, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=LR, betas=(BETA1, 0.999))
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed)).to(images.device)
    lines = []
    for i in range(iters):
        idx = order[(i * BATCH) % (images.shape[0] - BATCH + 1):][:BATCH]
        data = (images[idx] - 0.5) / 0.5  # the example's transforms.Normalize((0.5,), (0.5,))
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        netD.zero_grad()
        real_cpu = data.to(device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.randn(batch_size, NZ, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        lines.append("[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f"
                     % (0, 1, i, iters, errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
    return lines


def robustgan_loop(images: torch.Tensor, iters: int, width: int, seed: int = 0, device="cpu"):
    cfg = GANConfig(loss="non-saturating", width=width, latent_dim=NZ, batch_size=BATCH, lr_g=LR, lr_d=LR,
                    betas=(BETA1, 0.999), seed=seed)
    return train_gan(images, None, cfg, steps=iters, progress=False, log_every=iters,
                     sample_every=10 ** 9, checkpoint_every=10 ** 9, device=device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--num-train", type=int, default=60000)
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N]: both loops on it, images in its memory")
    ap.add_argument("--out", default=None, help="also write the table to DIR/<key>.md")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    device = torch.device(args.device)
    on_cpu = device.type == "cpu"
    ds, _ = load_dataset("fashion-mnist", "train")
    images = ds.tensors[0][:args.num_train].float().to(device)
    methods = {"PyTorch DCGAN example loop": reference_loop, "robustgan `train_gan` (non-saturating)": robustgan_loop}
    for fn in methods.values():  # warm-up
        fn(images, 3, args.width, device=device)
    best = {name: float("inf") for name in methods}
    best_cpu = {name: float("inf") for name in methods}
    for r in range(args.repeats):
        for name, fn in methods.items():
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            fn(images, args.iters, args.width, device=device)
            sync(device)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            best[name], best_cpu[name] = min(best[name], wall), min(best_cpu[name], cpu)
            print(f"repeat {r + 1}: {name}: {args.iters * BATCH / wall:.1f} images/s (CPU time {cpu:.2f} s)", flush=True)
    ref_name = "PyTorch DCGAN example loop"
    ref, ref_cpu = args.iters * BATCH / best[ref_name], best_cpu[ref_name]
    rows = []
    for name, t in best.items():
        ips = args.iters * BATCH / t
        rows.append(f"| {name} | {t:.2f} | {ips:.1f} | {ips / ref:.2f} | {best_cpu[name]:.2f} | {ref_cpu / best_cpu[name]:.2f} |")
    ours = args.iters * BATCH / best["robustgan `train_gan` (non-saturating)"]
    verdict = "met" if ours / ref >= 1.0 else "NOT met"
    gpu = None if on_cpu else torch.cuda.get_device_name(device)
    table = "\n".join([
        SECTION if on_cpu else f"{SECTION} ({gpu})", "",
        "Command: `" + (f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " if os.environ.get("OMP_NUM_THREADS") else "")
        + f"python benchmarks/bench_gan.py --iters {args.iters} --repeats {args.repeats} --width {args.width}"
        + ("" if on_cpu else f" --device {args.device}") + (" --write" if args.write else "") + "`.", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} ("
        + (f"CPU, {torch.get_num_threads()} threads" if on_cpu else f"{gpu}, CUDA {torch.version.cuda}")
        + f"), Python {platform.python_version()}.", "",
        f"DCGAN 28×28, ngf = ndf = {args.width}, nz = {NZ}, batch {BATCH}, Adam 2e-4 (0.5, 0.999), "
        f"{args.iters} generator steps per run on Fashion-MNIST training images; best of {args.repeats} "
        "after a warm-up, methods interleaved.", "",
        "| method | wall time (s) | images/s | × example loop | CPU time (s) | × example loop (CPU time) |",
        "|---|---:|---:|---:|---:|---:|", *rows, "",
        f"Target: robustgan ≥ 1.0× the example loop: {ours / ref:.2f}× — {verdict}.", "",
    ])
    print(table)
    key = "gan-throughput" if on_cpu else f"gan-throughput-{device.type}"
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        Path(args.out, f"{key}.md").write_text(table)
    if args.write and not on_cpu:  # a block of its own: the CPU sub-section of the GAN block stays as it is
        write_section(key, table)
    elif args.write:
        path = Path(__file__).with_name("RESULTS.md")
        text = path.read_text() if path.exists() else "# Benchmarks\n"
        # the heading alone on its line: never the GPU copy's "### GAN training throughput (<GPU>)"
        pattern = re.compile(re.escape(SECTION) + r"(?=\n).*?(?=\n##+ |\n<!-- |\Z)", re.S)
        text = pattern.sub(lambda _: table.rstrip() + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + table
        path.write_text(text)


if __name__ == "__main__":
    main()
