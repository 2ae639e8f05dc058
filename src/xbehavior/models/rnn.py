"""Elman RNN baseline (the paper's "RNN").

For step t with input x_t (F,) and hidden h (H,)::

    h_t = tanh(W x_t + U h_{t-1} + b)

The representation of a sequence is e = [h_T ; s] where T is the last real (unpadded) step and
s the static context (S,); the head gives logit = wᵀ e + b_o. Uses torch's fused ``nn.RNN``;
since the recurrence is causal, padded steps after T cannot change h_T.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from xbehavior.models.common import Head, SequenceClassifier, last_valid


@dataclass
class RNNConfig:
    hidden: int = 64
    num_layers: int = 1
    dropout: float = 0.0  # before the head (and between layers when num_layers > 1)


class RNNClassifier(SequenceClassifier):
    def __init__(self, cfg: RNNConfig, n_features: int, n_context: int):
        super().__init__()
        self.cfg = cfg
        self.rnn = nn.RNN(
            n_features, cfg.hidden, num_layers=cfg.num_layers, batch_first=True,
            nonlinearity="tanh", dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        self.embed_dim = cfg.hidden + n_context
        self.head = Head(self.embed_dim, cfg.dropout)

    def hidden_states(self, x: torch.Tensor, mask: torch.Tensor,
                      context: torch.Tensor) -> torch.Tensor:
        """Per-step hidden states (B, T, H); step t depends on steps <= t only."""
        return self.rnn(x)[0]

    def embed(self, x: torch.Tensor, mask: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        h = self.hidden_states(x, mask, context)  # (B, T, H)
        return torch.cat([last_valid(h, mask), context], dim=-1)  # (B, H + S)
