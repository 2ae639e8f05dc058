"""Pieces every sequence model shares: last-valid-step gather, masked softmax, the head.

All models take right-padded batches: ``x`` (B, T, F), ``mask`` (B, T) bool with real steps
first, ``context`` (B, S). Because every recurrence here is causal, the state at the last real
step never sees the padded steps after it, which is what makes outputs padding-invariant.
"""

from __future__ import annotations

import torch
from torch import nn


def last_valid(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Hidden state at each row's last real step.

    h: (B, T, H); mask: (B, T) bool, real steps first -> (B, H).
    A row with no real step gets zeros, i.e. the initial state h_0 = 0 of every model here
    (its state at step 0 would have read a padded step).
    """
    last = mask.sum(dim=1).clamp(min=1) - 1  # (B,) index of last real step
    idx = last.view(-1, 1, 1).expand(-1, 1, h.shape[-1])  # (B, 1, H)
    return h.gather(1, idx).squeeze(1) * mask.any(dim=1, keepdim=True)  # (B, H)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over steps where ``mask`` is True; padded steps get weight exactly 0.

    scores: (B, T); mask: (B, T) bool -> (B, T), rows sum to 1; a row with no real step gets
    all-zero weights (a softmax over only -inf would be NaN), so its attention read-out is 0.
    """
    any_real = mask.any(dim=1, keepdim=True)  # (B, 1)
    scores = scores.masked_fill(~mask, float("-inf")).masked_fill(~any_real, 0.0)
    return torch.softmax(scores, dim=1) * any_real


class Head(nn.Module):
    """Logistic head on the representation: logit = wᵀ e + b, e of size ``d_in``."""

    def __init__(self, d_in: int, dropout: float = 0.0):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(d_in, 1)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.proj(self.drop(e)).squeeze(-1)  # (B,)


class SequenceClassifier(nn.Module):
    """Base class: subclasses implement ``embed``; ``forward`` applies the head.

    Every model's contract: ``forward(x, mask, context) -> logits (B,)``,
    ``embed(x, mask, context) -> (B, D)`` with ``D = self.embed_dim`` and
    ``hidden_states(x, mask, context) -> (B, T, H)``.
    """

    embed_dim: int
    head: Head

    def hidden_states(
        self, x: torch.Tensor, mask: torch.Tensor, context: torch.Tensor
    ) -> torch.Tensor:  # pragma: no cover - abstract
        """Per-step states (B, T, H) of the sequence body (used for next-event pretraining)."""
        raise NotImplementedError

    def embed(
        self, x: torch.Tensor, mask: torch.Tensor, context: torch.Tensor
    ) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor, mask: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x, mask, context))  # (B,)
