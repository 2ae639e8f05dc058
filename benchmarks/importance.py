"""Benchmark: wall seconds of the main job's feature-importance step on the real Online Retail.

Builds PreparedData once from the bundled Online Retail log (default RunConfig), trains every
default model for ``--max-epochs`` epochs (importance cost does not depend on how well a model
fits), then times each (model, method) of ``jobs.analysis.importance_table`` separately and
the whole step, in wall and CPU seconds. "old step" = what the job computed before:
permutation importance of lstm and xlstm_paper only. The 1-minute load average is printed:
the machine has 2 cores shared with other work, so wall times vary with it.

    python benchmarks/importance.py                      # 1 thread, IG on IG_EXAMPLES
    python benchmarks/importance.py --ig-examples 1000 --threads 2
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from xbehavior.config import make_config
from xbehavior.engine import DuckDBEngine
from xbehavior.insights import importance as imp
from xbehavior.jobs import analysis
from xbehavior.jobs.data_prep import PreparedData, prepare
from xbehavior.jobs.modelling import ModelResult, train_sequence_models, train_tabular_models


def _timed(fn, *args, **kwargs) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu


def per_method_seconds(data: PreparedData, results: list[ModelResult], ig_examples: int,
                       seed: int) -> dict[tuple[str, str], tuple[float, float]]:
    """(wall, CPU) seconds of each (model, method) the importance step computes (test split)."""
    test = data.split("test")
    seq, X = data.sequences.subset(test), data.tabular[test]
    y = data.examples.loc[test, "label"].to_numpy()
    rows = np.sort(np.random.default_rng(seed).permutation(len(seq))[:ig_examples])
    out = {}
    for r in results:
        if r.kind == "sequence":
            out[r.name, "permutation"] = _timed(imp.sequence_permutation_importance, r.fitted,
                                                seq, analysis.PERMUTATION_REPEATS, seed)
            out[r.name, "integrated_gradients"] = _timed(
                imp.integrated_gradients_importance, r.fitted, seq.subset(rows))
        elif r.name != "base_rate":
            out[r.name, "permutation"] = _timed(imp.tabular_permutation_importance, r.fitted,
                                                X, y, analysis.PERMUTATION_REPEATS, seed)
            if r.name == "lightgbm":
                out[r.name, "tree_shap"] = _timed(imp.lightgbm_shap_importance, r.fitted, X, y)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ig-examples", type=int, default=analysis.IG_EXAMPLES)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-epochs", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    analysis.IG_EXAMPLES = args.ig_examples
    cfg = make_config(max_epochs=args.max_epochs, threads=args.threads)
    data = prepare(DuckDBEngine(threads=args.threads), cfg)
    results = train_tabular_models(data, cfg)
    results += train_sequence_models(data, cfg, Path(tempfile.mkdtemp()) / "models")
    print(f"test examples {int(data.split('test').sum())}; IG on {args.ig_examples}; "
          f"threads {args.threads}; load average {os.getloadavg()[0]:.1f}")
    for r in results:
        print(f"  {r.name}: training {r.train_seconds / max(r.epochs or 1, 1):.1f} s/epoch")
    seconds = per_method_seconds(data, results, args.ig_examples, cfg.seed)
    print(f"  {'model':12s} {'method':22s} {'wall s':>7s} {'CPU s':>7s}")
    for (model, method), (wall, cpu) in seconds.items():
        print(f"  {model:12s} {method:22s} {wall:7.1f} {cpu:7.1f}")
    old = [sum(s[i] for (m, k), s in seconds.items()
               if k == "permutation" and m in analysis.IMPORTANCE_MODELS) for i in (0, 1)]
    whole = _timed(analysis.importance_table, data, results, cfg.seed)
    print(f"whole step wall {whole[0]:.1f} s, CPU {whole[1]:.1f} s; old step (lstm + "
          f"xlstm_paper permutation) wall {old[0]:.1f} s, CPU {old[1]:.1f} s; added wall "
          f"{whole[0] - old[0]:.1f} s, CPU {whole[1] - old[1]:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
