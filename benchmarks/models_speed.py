"""Training throughput (sequences/s) of the four sequence models at equal hidden size.

Random tensors (SYNTHETIC, speed only) of the main job's shapes: batch 64, T=32, F=20, S=15,
feature groups 8/6/6. The machine is shared, so one timing is noise: every model is timed in
``--rounds`` interleaved rounds (each round runs every model once, in the same order), and the
table gives the median and the min–max over rounds. The slowdown vs fused nn.LSTM (the issue's
target: custom cells within 3x) is taken per round — LSTM and the model timed seconds apart,
under the same load — and its median and min–max are printed.

    python benchmarks/models_speed.py [--hidden 64] [--batches 10] [--rounds 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from xbehavior.models.registry import SEQUENCE_MODELS, build_model

B, T, N_FEAT, N_CTX = 64, 32, 20, 15
GROUPS = {"behaviour": list(range(8)), "product": list(range(8, 14)), "time": list(range(14, 20))}

#: rows beyond the four defaults: xLSTM stacks of the paper's shape (up-projection factor 2),
#: and one block of each kind; the default ``xlstm`` row is one mLSTM block, factor 1
VARIANTS = {
    "xlstm[ms]": ("xlstm", {"blocks": "ms", "proj_factor": 2.0}),
    "xlstm[m]": ("xlstm", {"blocks": "m", "proj_factor": 2.0}),
    "xlstm[s]": ("xlstm", {"blocks": "s"}),
}


def _steps(name: str, hidden: int, extra: dict | None) -> tuple[Callable, Callable, int]:
    """(one training step, one inference pass, parameter count) on a fixed random batch."""
    torch.manual_seed(0)
    model = build_model(name, {"hidden": hidden, **(extra or {})}, N_FEAT, N_CTX, GROUPS)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, ctx = torch.randn(B, T, N_FEAT), torch.randn(B, N_CTX)
    mask = torch.arange(T)[None] < torch.randint(4, T + 1, (B, 1))
    y = torch.randint(0, 2, (B,)).float()

    def train_step() -> None:
        model.train()
        opt.zero_grad(set_to_none=True)
        F.binary_cross_entropy_with_logits(model(x, mask, ctx), y).backward()
        opt.step()

    @torch.no_grad()
    def infer_step() -> None:
        model.eval()
        model(x, mask, ctx)

    for _ in range(3):  # warm-up (allocator, lazy init)
        train_step()
        infer_step()
    return train_step, infer_step, sum(p.numel() for p in model.parameters())


def _rate(fn: Callable, batches: int) -> float:
    t0 = time.perf_counter()
    for _ in range(batches):
        fn()
    return B * batches / (time.perf_counter() - t0)  # sequences / s


def measure(hidden: int, batches: int, rounds: int) -> dict[str, dict[str, list[float] | int]]:
    """Per model: lists (one value per round) of train and inference sequences/s, and the
    per-round slowdown lstm_train / model_train; plus the parameter count."""
    specs = {n: (n, None) for n in SEQUENCE_MODELS} | VARIANTS
    steps = {label: _steps(n, hidden, extra) for label, (n, extra) in specs.items()}
    out: dict[str, dict] = {k: {"train": [], "infer": [], "slow": [], "params": v[2]}
                            for k, v in steps.items()}
    for _ in range(rounds):
        for label, (train_step, infer_step, _) in steps.items():
            out[label]["train"].append(_rate(train_step, batches))
            out[label]["infer"].append(_rate(infer_step, batches))
        for label in steps:
            out[label]["slow"].append(out["lstm"]["train"][-1] / out[label]["train"][-1])
    return out


def _fmt(values: list[float], digits: int = 0) -> str:
    med = statistics.median(values)
    return f"{med:.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)  # issue 4: 2 CPU cores
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = measure(args.hidden, args.batches, args.rounds)
    print(f"B={B} T={T} F={N_FEAT} S={N_CTX} hidden={args.hidden} threads={args.threads} "
          f"rounds={args.rounds}x{args.batches} batches torch={torch.__version__}")
    print("median [min-max] over rounds; slowdown = lstm train seq/s / model train seq/s")
    print(f"{'model':<12}{'params':>8}{'train seq/s':>22}{'infer seq/s':>24}{'slowdown':>20}")
    for name, r in rows.items():
        print(f"{name:<12}{r['params']:>8}{_fmt(r['train']):>22}{_fmt(r['infer']):>24}"
              f"{_fmt(r['slow'], 1) + 'x':>20}")


if __name__ == "__main__":
    main()
