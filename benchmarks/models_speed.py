"""Training throughput (sequences/s) of the four sequence models at equal hidden size.

Random tensors (SYNTHETIC, speed only) of the main job's shapes: batch 64, T=32, F=20, S=15,
feature groups 8/6/6. Prints one row per model with the slowdown vs fused nn.LSTM (the issue's
target: custom cells within 3x).

    python benchmarks/models_speed.py [--hidden 64] [--batches 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from xbehavior.models.registry import SEQUENCE_MODELS, build_model

B, T, N_FEAT, N_CTX = 64, 32, 20, 15
GROUPS = {"behaviour": list(range(8)), "product": list(range(8, 14)), "time": list(range(14, 20))}


#: rows beyond the four defaults: xLSTM with a single block of each kind
VARIANTS = {"xlstm[m]": ("xlstm", {"blocks": "m"}), "xlstm[s]": ("xlstm", {"blocks": "s"})}


def throughput(name: str, hidden: int, batches: int,
               extra: dict | None = None) -> tuple[float, float, int]:
    """(train sequences/s, inference sequences/s, parameter count) for one model."""
    torch.manual_seed(0)
    cfg = {"hidden": hidden, **(extra or {})}
    model = build_model(name, cfg, N_FEAT, N_CTX, GROUPS)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, ctx = torch.randn(B, T, N_FEAT), torch.randn(B, N_CTX)
    mask = torch.arange(T)[None] < torch.randint(4, T + 1, (B, 1))
    y = torch.randint(0, 2, (B,)).float()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.binary_cross_entropy_with_logits(model(x, mask, ctx), y).backward()
        opt.step()

    for _ in range(3):  # warm-up (allocator, lazy init)
        step()
    t0 = time.perf_counter()
    for _ in range(batches):
        step()
    train = B * batches / (time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        t0 = time.perf_counter()
        for _ in range(batches):
            model(x, mask, ctx)
        infer = B * batches / (time.perf_counter() - t0)
    return train, infer, sum(p.numel() for p in model.parameters())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = {n: throughput(n, args.hidden, args.batches) for n in SEQUENCE_MODELS}
    rows.update({label: throughput(n, args.hidden, args.batches, extra)
                 for label, (n, extra) in VARIANTS.items()})
    ref = rows["lstm"][0]
    print(f"B={B} T={T} F={N_FEAT} S={N_CTX} hidden={args.hidden} threads={args.threads} "
          f"torch={torch.__version__}")
    print(f"{'model':<12}{'params':>9}{'train seq/s':>13}{'infer seq/s':>13}{'slowdown':>10}")
    for name, (train, infer, n_par) in rows.items():
        print(f"{name:<12}{n_par:>9}{train:>13.0f}{infer:>13.0f}{ref / train:>9.1f}x")


if __name__ == "__main__":
    main()
