"""Standard LSTM baseline (the paper's "LSTM"), torch's fused ``nn.LSTM``.

For step t with input x_t (F,), hidden h and cell c (H,)::

    i_t = σ(W_i x_t + U_i h_{t-1} + b_i)        input gate
    f_t = σ(W_f x_t + U_f h_{t-1} + b_f)        forget gate
    z_t = tanh(W_z x_t + U_z h_{t-1} + b_z)     candidate
    o_t = σ(W_o x_t + U_o h_{t-1} + b_o)        output gate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ z_t
    h_t = o_t ⊙ tanh(c_t)

Representation e = [h_T ; s] (last real step, static context); logit = wᵀ e + b. Padding is
handled by gathering h at the last real step (a causal recurrence never sees later steps),
which is cheaper on CPU than ``pack_padded_sequence`` and gives the same h_T.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from xbehavior.models.common import Head, SequenceClassifier, last_valid


@dataclass
class LSTMConfig:
    hidden: int = 64
    num_layers: int = 1
    dropout: float = 0.0  # before the head (and between layers when num_layers > 1)


class LSTMClassifier(SequenceClassifier):
    def __init__(self, cfg: LSTMConfig, n_features: int, n_context: int):
        super().__init__()
        self.cfg = cfg
        self.lstm = nn.LSTM(
            n_features, cfg.hidden, num_layers=cfg.num_layers, batch_first=True,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        self.embed_dim = cfg.hidden + n_context
        self.head = Head(self.embed_dim, cfg.dropout)

    def hidden_states(self, x: torch.Tensor, mask: torch.Tensor,
                      context: torch.Tensor) -> torch.Tensor:
        """Per-step hidden states (B, T, H); step t depends on steps <= t only."""
        return self.lstm(x)[0]

    def embed(self, x: torch.Tensor, mask: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        h = self.hidden_states(x, mask, context)  # (B, T, H)
        return torch.cat([last_valid(h, mask), context], dim=-1)  # (B, H + S)
