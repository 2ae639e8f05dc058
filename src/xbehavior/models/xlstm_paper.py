"""The paper's XLSTM (Zhai et al. 2025): an LSTM cell with four additions, each switchable.

The paper gives no equations; this is our reading (docs/MODELS.md). Step t has input features
x_t (F,) split into G groups x_t^g (behaviour / product / time), static context s (S,), hidden
h (H,), one cell c^g (C_g,) per group. Gates are ordered i, f, z, o as in torch's LSTM.

    (2) feature-aware input   a_t = σ(W_a x_t + b_a) ∈ (0,1)^F ;  x̃_t = a_t ⊙ x_t
    input gate                i_t^g = σ(W_i^g x̃_t + U_i^g h_{t-1} + b_i^g)
    (1) context forget        f_t^g = σ(W_f^g x̃_t + U_f^g h_{t-1} + V_f^g s + b_f^g)
    (3) per-group candidate   z_t^g = tanh(W_z^g x̃_t^g + U_z^g h_{t-1} + b_z^g)
                              c_t^g = f_t^g ⊙ c_{t-1}^g + i_t^g ⊙ z_t^g
    output                    o_t = σ(W_o x̃_t + U_o h_{t-1} + b_o)
                              h_t = o_t ⊙ tanh(P [c_t^1; …; c_t^G])
    (4) attention             e_t = vᵀ tanh(W_h h_t + W_s s);  α = masked softmax(e)
                              r = Σ_t α_t h_t ;  representation [r; h_T; s] → logit

Switching a part off gives back the plain LSTM piece: (1) no V_f s; (2) a_t = 1; (3) G = 1 with
C = H and no P (the candidate sees every feature); (4) representation [h_T; s]. With all four
off the cell *is* torch's LSTM (same weight layout), which the tests check.

The feature gate depends on x_t only (not on h_{t-1}, unlike the SPEC's first reading) so that
every input projection, V_f s included, is one matrix product before the loop; only U h_{t-1}
runs per step. The candidate's "group g sees only x^g" is a block mask on W_z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from xbehavior.models.common import Head, SequenceClassifier, last_valid, masked_softmax


@dataclass
class XLSTMPaperConfig:
    hidden: int = 64
    context_forget: bool = True  # (1) forget gate also sees the static context s
    feature_gate: bool = True  # (2) per-feature input weights a_t
    multi_cell: bool = True  # (3) one cell state per feature group
    attention: bool = True  # (4) attention over hidden states before the head
    cell_size: int | None = None  # per-group cell size; default ceil(hidden / G)
    dropout: float = 0.0  # before the head


def recurrence_reference(pre: torch.Tensor, u: torch.Tensor, p: torch.Tensor | None,
                         n_cell: int) -> torch.Tensor:
    """The recurrence written plainly for autograd (tests compare the fast scan with it).

    pre: (B, T, 3C + H) input projections, u: (3C + H, H), p: (H, C) or None -> (B, T, H)."""
    h = pre.new_zeros(pre.shape[0], u.shape[1])  # (B, H)
    c = pre.new_zeros(pre.shape[0], n_cell)  # (B, C)
    out = []
    for t in range(pre.shape[1]):
        i, f, z, o = (pre[:, t] + h @ u.t()).split([n_cell, n_cell, n_cell, u.shape[1]], dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(z)
        h = torch.sigmoid(o) * torch.tanh(c if p is None else c @ p.t())
        out.append(h)
    return torch.stack(out, dim=1)


def _scan_forward(pre: torch.Tensor, u: torch.Tensor, p: torch.Tensor | None, n_cell: int):
    """Forward loop; also returns what the hand-written backward needs, time-major:
    h (T,B,H), activated gates [i, f, z, o] (T,B,3C+H), c (T,B,C), k = tanh(P c) (T,B,H).

    Each step writes straight into these preallocated buffers (its slice of each is
    contiguous) and activates the gates in place: no per-step allocation, stack or copy,
    which is most of what a step costs at these sizes on a CPU."""
    b, t_len, hid = pre.shape[0], pre.shape[1], u.shape[1]
    c1, c2, c3 = n_cell, 2 * n_cell, 3 * n_cell
    gates = pre.new_empty(t_len, b, c3 + hid)
    c_all, k_all, h_all = (pre.new_empty(t_len, b, n) for n in (n_cell, hid, hid))
    h = pre.new_zeros(b, hid)
    c = pre.new_zeros(b, n_cell)
    ut, pt = u.t(), None if p is None else p.t()
    # per-gate views of the buffers, cut once: inside the loop each is one index
    pre_t = pre.transpose(0, 1)
    i_all, f_all, if_all = gates[..., :c1], gates[..., c1:c2], gates[..., :c2]
    z_all, o_all = gates[..., c2:c3], gates[..., c3:]
    for t in range(t_len):
        torch.addmm(pre_t[t], h, ut, out=gates[t])  # (B, 3C+H): the loop's one matmul
        if_all[t].sigmoid_()
        z = z_all[t].tanh_()
        o = o_all[t].sigmoid_()
        c = torch.addcmul(f_all[t] * c, i_all[t], z, out=c_all[t])  # f⊙c + i⊙z
        k = k_all[t]
        if pt is None:
            torch.tanh(c, out=k)
        else:
            torch.mm(c, pt, out=k).tanh_()
        h = torch.mul(o, k, out=h_all[t])
    return h_all, gates, c_all, k_all


def _scan_backward(dh_all: torch.Tensor, u: torch.Tensor, p: torch.Tensor | None,
                   h_all: torch.Tensor, gates: torch.Tensor, c_all: torch.Tensor,
                   k_all: torch.Tensor, n_cell: int):
    """Backprop through time by hand -> (d pre (B,T,3C+H), d u (3C+H,H), d p (H,C) or None).

    dh_all (B, T, H); the saved tensors are the forward's time-major buffers. Every local
    derivative that does not depend on the incoming gradient is computed for all steps at
    once before the loop, which then does 7 small ops per step, writing into one buffer."""
    t_len, b, hid = h_all.shape
    i, f, z, o = gates.split([n_cell, n_cell, n_cell, hid], dim=2)  # (T, B, ·) each
    c_prev = torch.cat([c_all.new_zeros(1, b, n_cell), c_all[:-1]])
    dh_to_du = o * (1 - k_all * k_all)  # h = o ⊙ tanh(u), u = P c
    dc_to_dg = torch.stack([z * i * (1 - i), c_prev * f * (1 - f), i * (1 - z * z)], 2)
    dh_to_do = k_all * o * (1 - o)  # (T, B, H)
    dh_all = dh_all.transpose(0, 1)  # (T, B, H) view
    dpre = gates.new_empty(t_len, b, 3 * n_cell + hid)
    du_all = gates.new_empty(t_len, b, hid)
    dh_rec = dh_all.new_zeros(b, hid)
    dc = dh_all.new_zeros(b, n_cell)
    dpre_c = dpre[..., : 3 * n_cell].view(t_len, b, 3, n_cell)  # i, f, z rows
    dpre_o = dpre[..., 3 * n_cell :]
    for t in range(t_len - 1, -1, -1):
        dh = dh_all[t] + dh_rec
        du = torch.mul(dh, dh_to_du[t], out=du_all[t])
        if t + 1 < t_len:
            dc.mul_(f[t + 1])  # carried through c_{t+1} = f c_t + …
        dc = dc + du if p is None else torch.addmm(dc, du, p)
        torch.mul(dc.unsqueeze(1), dc_to_dg[t], out=dpre_c[t])
        torch.mul(dh, dh_to_do[t], out=dpre_o[t])
        dh_rec = dpre[t] @ u
    h_prev = torch.cat([h_all.new_zeros(1, b, hid), h_all[:-1]])
    du_w = dpre.reshape(-1, dpre.shape[2]).t() @ h_prev.reshape(-1, hid)  # Σ_t dg_tᵀ h_{t-1}
    dp: torch.Tensor | None = None
    if p is not None:
        dp = du_all.reshape(-1, hid).t() @ c_all.reshape(-1, n_cell)
    return dpre.transpose(0, 1), du_w, dp


class _Scan(torch.autograd.Function):
    """The recurrence with a hand-written backward: ~2x faster on CPU than letting autograd
    record ~10 small ops per step (checked against ``recurrence_reference`` by gradcheck)."""

    @staticmethod
    def forward(ctx, pre, u, p, n_cell):
        h, gates, c, k = _scan_forward(pre, u, p, n_cell)
        ctx.save_for_backward(u, p, h, gates, c, k)
        ctx.n_cell = n_cell
        return h.transpose(0, 1)

    @staticmethod
    def backward(ctx, dh):
        u, p, h, gates, c, k = ctx.saved_tensors
        dpre, du, dp = _scan_backward(dh, u, p, h, gates, c, k, ctx.n_cell)
        return dpre, du, dp, None


def recurrence(pre: torch.Tensor, u: torch.Tensor, p: torch.Tensor | None,
               n_cell: int) -> torch.Tensor:
    """Fast recurrence: (B, T, 3C + H) input projections -> hidden states (B, T, H)."""
    if torch.is_grad_enabled() and any(a is not None and a.requires_grad for a in (pre, u, p)):
        return _Scan.apply(pre, u, p, n_cell)
    return _scan_forward(pre, u, p, n_cell)[0].transpose(0, 1)


class XLSTMPaperCell(nn.Module):
    """Runs the recurrence over a whole batch: (x (B,T,F), s (B,S)) -> h (B,T,H)."""

    def __init__(self, cfg: XLSTMPaperConfig, n_features: int, n_context: int,
                 groups: dict[str, list[int]] | None):
        super().__init__()
        self.cfg = cfg
        hid = cfg.hidden
        parts = [list(ix) for ix in (groups or {}).values() if len(ix) > 0]
        if not cfg.multi_cell or len(parts) == 0:
            parts = [list(range(n_features))]
        self.n_groups = len(parts) if cfg.multi_cell else 1
        cell = hid if not cfg.multi_cell else (cfg.cell_size or math.ceil(hid / self.n_groups))
        self.n_cell = cell * self.n_groups  # C: total cell units
        n_gate = 3 * self.n_cell + hid
        self.w_in = nn.Linear(n_features, n_gate)  # W for i, f, z, o: one matmul for all steps
        self.u = nn.Linear(hid, n_gate, bias=False)  # U for i, f, z, o: the only per-step matmul
        self.feature_gate = nn.Linear(n_features, n_features) if cfg.feature_gate else None
        use_ctx = cfg.context_forget and n_context > 0
        self.v_f = nn.Linear(n_context, self.n_cell, bias=False) if use_ctx else None
        self.proj = nn.Linear(self.n_cell, hid, bias=False) if cfg.multi_cell else None
        if cfg.multi_cell:  # cell units of group g read only the features of group g
            z_mask = torch.zeros(self.n_cell, n_features)
            for g, ix in enumerate(parts):
                z_mask[g * cell : (g + 1) * cell, ix] = 1.0
            self.register_buffer("z_mask", z_mask)
        else:
            self.z_mask = None
        self._init_forget_bias()

    def _init_forget_bias(self) -> None:
        # forget bias 1: the usual LSTM choice to keep memory early in training
        with torch.no_grad():
            self.w_in.bias[self.n_cell : 2 * self.n_cell] = 1.0

    def input_weight(self) -> torch.Tensor:
        """W with the per-group block mask applied to the candidate rows: (3C + H, F)."""
        w = self.w_in.weight
        if self.z_mask is None:
            return w
        c = self.n_cell
        return torch.cat([w[: 2 * c], w[2 * c : 3 * c] * self.z_mask, w[3 * c :]], dim=0)

    def gated_input(self, x: torch.Tensor) -> torch.Tensor:
        """x̃ = a ⊙ x with a = σ(W_a x + b_a), or x itself when the gate is off. (B,T,F)."""
        if self.feature_gate is None:
            return x
        return torch.sigmoid(self.feature_gate(x)) * x

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        pre = F.linear(self.gated_input(x), self.input_weight(), self.w_in.bias)  # (B,T,3C+H)
        if self.v_f is not None:
            c = self.n_cell
            vs = F.pad(self.v_f(context), (c, c + self.cfg.hidden))  # (B, 3C+H), f rows only
            pre = pre + vs.unsqueeze(1)
        p = None if self.proj is None else self.proj.weight
        return recurrence(pre, self.u.weight, p, self.n_cell)  # (B, T, H)


class MaskedAttention(nn.Module):
    """e_t = vᵀ tanh(W_h h_t + W_s s); α = softmax over real steps; r = Σ α_t h_t."""

    def __init__(self, hidden: int, n_context: int):
        super().__init__()
        self.w_h = nn.Linear(hidden, hidden)
        self.w_s = nn.Linear(n_context, hidden, bias=False) if n_context > 0 else None
        self.v = nn.Linear(hidden, 1, bias=False)

    def weights(self, h: torch.Tensor, mask: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """α: (B, T), zero on padded steps."""
        k = self.w_h(h)  # (B, T, A)
        if self.w_s is not None:
            k = k + self.w_s(context).unsqueeze(1)
        return masked_softmax(self.v(torch.tanh(k)).squeeze(-1), mask)  # (B, T)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        alpha = self.weights(h, mask, context)
        return torch.einsum("bt,bth->bh", alpha, h)  # (B, H)


class XLSTMPaperClassifier(SequenceClassifier):
    def __init__(self, cfg: XLSTMPaperConfig, n_features: int, n_context: int,
                 groups: dict[str, list[int]] | None = None):
        super().__init__()
        self.cfg = cfg
        self.cell = XLSTMPaperCell(cfg, n_features, n_context, groups)
        self.attn = MaskedAttention(cfg.hidden, n_context) if cfg.attention else None
        self.embed_dim = cfg.hidden * (2 if cfg.attention else 1) + n_context
        self.head = Head(self.embed_dim, cfg.dropout)

    def hidden_states(self, x: torch.Tensor, mask: torch.Tensor,
                      context: torch.Tensor) -> torch.Tensor:
        """Per-step hidden states (B, T, H); step t depends on steps <= t only."""
        return self.cell(x, context)

    def embed(self, x: torch.Tensor, mask: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        h = self.hidden_states(x, mask, context)  # (B, T, H)
        h_last = last_valid(h, mask)  # (B, H)
        if self.attn is None:
            return torch.cat([h_last, context], dim=-1)  # (B, H + S)
        r = self.attn(h, mask, context)  # (B, H)
        return torch.cat([r, h_last, context], dim=-1)  # (B, 2H + S)
