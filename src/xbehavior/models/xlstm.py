"""The published xLSTM (Beck et al. 2024, arXiv:2405.04517) in plain PyTorch, CPU-sized.

sLSTM (scalar memory, exponential input gate, recurrent, block-diagonal per head). With
pre-activations z̃, ĩ, f̃, õ = W x_t + R h_{t-1} + b::

    z_t = tanh(z̃)   o_t = σ(õ)   log f_t = log σ(f̃)          (sigmoid forget gate)
    m_t = max(log f_t + m_{t-1}, ĩ_t)                          stabiliser state
    i'_t = exp(ĩ_t − m_t)   f'_t = exp(log f_t + m_{t-1} − m_t)
    c_t = f'_t c_{t-1} + i'_t z_t       n_t = f'_t n_{t-1} + i'_t   normaliser state
    h_t = o_t ⊙ c_t / n_t

mLSTM (matrix memory C_t (d×d) per head, fully parallelisable). With q_t, k_t = W_k x/√d, v_t,
and scalar gates ĩ_t, f̃_t per head::

    m_t = max(log f_t + m_{t-1}, ĩ_t);  i', f' as above
    C_t = f'_t C_{t-1} + i'_t v_t k_tᵀ     n_t = f'_t n_{t-1} + i'_t k_t
    h̃_t = C_t q_t / max(|n_tᵀ q_t|, exp(−m_t))

Parallel form (used in training): D̃_ts = Σ_{r=s+1..t} log f_r + ĩ_s for s ≤ t (−∞ above the
diagonal), m_t = max_s D̃_ts, S = (q kᵀ) ⊙ exp(D̃ − m), h̃ = S v / max(|S 1|, exp(−m)).

The stabiliser starts at m_0 = −∞, so m_t is exactly the largest exponent so far: every
exp(·) is ≤ 1 and n_t ≥ 1 (sLSTM), which is why nothing overflows on long or padded sequences.
Both recurrences are causal, so padded steps after the last real step never reach h_T.

Blocks (simplified from the paper's Fig. 9/10): an mLSTM block is pre-up-projection
(LN → up ×2 → causal conv + SiLU → q, k; v from the unconvolved branch → mLSTM → head-norm
→ + learnable skip → ⊙ SiLU(gate branch) → down, residual); an sLSTM block is
post-up-projection (LN → causal conv + SiLU feeding i, f → sLSTM → head-norm, residual; then
LN → GeLU-gated MLP (factor 4/3), residual). The classifier is an input projection, a stack
of blocks (``blocks="ms"``), a final LN, h at the last real step, [h_T; s] → logit.
``slstm_reference`` / ``mlstm_reference`` are the slow, unstabilised step-by-step maths the
tests compare against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from xbehavior.models.common import Head, SequenceClassifier, last_valid


@dataclass
class XLSTMConfig:
    hidden: int = 64  # model width D
    num_heads: int = 4
    blocks: str = "ms"  # one letter per block, bottom first: m = mLSTM block, s = sLSTM block
    proj_factor: float = 2.0  # mLSTM up-projection
    conv_kernel: int = 4  # causal depthwise conv; 0 turns it off
    qkv_block: int = 4  # mLSTM q/k/v projections are block-diagonal with this block size
    mlstm_form: str = "parallel"  # "parallel" or "recurrent" (same maths; tests compare them)
    dropout: float = 0.0  # before the head


# ----------------------------------------------------------------------------- sLSTM maths


def _slstm_forward(pre: torch.Tensor, r: torch.Tensor):
    """Stabilised sLSTM loop. pre: (B, T, 4D) input parts of z̃, ĩ, f̃, õ; r: (D, 4D)
    block-diagonal recurrent weights -> h (B,T,D) and, for the backward, saved
    [z, o, f', i', σ(f̃)] (B,T,5D), c (B,T,D), n (B,T,D)."""
    b, t_len, d = pre.shape[0], pre.shape[1], r.shape[0]
    h = pre.new_zeros(b, d)
    c = pre.new_zeros(b, d)
    n = pre.new_zeros(b, d)
    m = pre.new_full((b, d), float("-inf"))  # m_0 = -inf: m_t is then the exact running max
    hs, ss, cs, ns = [], [], [], []
    for t in range(t_len):
        g = torch.addmm(pre[:, t], h, r)  # (B, 4D)
        z = torch.tanh(g[:, :d])
        i_t = g[:, d : 2 * d]
        f_t = g[:, 2 * d : 3 * d]
        o = torch.sigmoid(g[:, 3 * d :])
        log_f = F.logsigmoid(f_t)
        m_new = torch.maximum(log_f + m, i_t)
        i_s = torch.exp(i_t - m_new)  # <= 1
        f_s = torch.exp(log_f + m - m_new)  # <= 1
        c = torch.addcmul(f_s * c, i_s, z)
        n = f_s * n + i_s  # >= 1: one of the two exponents above is exactly 0
        h = o * c / n
        m = m_new
        hs.append(h)
        ss.append(torch.cat([z, o, f_s, i_s, torch.sigmoid(f_t)], 1))
        cs.append(c)
        ns.append(n)
    return torch.stack(hs, 1), torch.stack(ss, 1), torch.stack(cs, 1), torch.stack(ns, 1)


def _slstm_backward(dh_all: torch.Tensor, r: torch.Tensor, h_all: torch.Tensor,
                    saved: torch.Tensor, c_all: torch.Tensor, n_all: torch.Tensor):
    """Backprop through time by hand -> (d pre (B,T,4D), d r (D,4D)). The stabiliser m is
    treated as a constant: h does not depend on it (it cancels in c / n), so this is exact."""
    b, t_len, d = h_all.shape[0], h_all.shape[1], h_all.shape[2]
    dh_rec = dh_all.new_zeros(b, d)
    dc_next = dh_all.new_zeros(b, d)
    dn_next = dh_all.new_zeros(b, d)
    rt = r.t()
    dgs = []
    for s in range(t_len):
        t = t_len - 1 - s
        dh = dh_all[:, t] + dh_rec
        sv = saved[:, t]
        z, o, f_s, i_s, sig_f = (sv[:, :d], sv[:, d : 2 * d], sv[:, 2 * d : 3 * d],
                                 sv[:, 3 * d : 4 * d], sv[:, 4 * d :])
        c, n = c_all[:, t], n_all[:, t]
        c_prev = c_all[:, t - 1] if t > 0 else torch.zeros_like(c)
        n_prev = n_all[:, t - 1] if t > 0 else torch.zeros_like(n)
        dc = dc_next + dh * o / n
        dn = dn_next - dh * o * c / (n * n)
        d_f = (dc * c_prev + dn * n_prev) * f_s * (1 - sig_f)  # d f̃ via log σ(f̃)
        dg = torch.cat([dc * i_s * (1 - z * z), (dc * z + dn) * i_s, d_f,
                        dh * c / n * o * (1 - o)], 1)
        dc_next = dc * f_s
        dn_next = dn * f_s
        dh_rec = dg @ rt
        dgs.append(dg)
    dgs.reverse()
    dpre = torch.stack(dgs, 1)
    h_prev = torch.cat([h_all.new_zeros(b, 1, d), h_all[:, :-1]], 1)
    dr = h_prev.reshape(-1, d).t() @ dpre.reshape(-1, 4 * d)  # Σ_t h_{t-1}ᵀ dg_t
    return dpre, dr


class _SLSTMScan(torch.autograd.Function):
    """sLSTM with a hand-written backward (about 2x faster on CPU than autograd's many small
    ops); gradcheck-ed in the tests."""

    @staticmethod
    def forward(ctx, pre, r):
        h, saved, c, n = _slstm_forward(pre, r)
        ctx.save_for_backward(r, h, saved, c, n)
        return h

    @staticmethod
    def backward(ctx, dh):
        r, h, saved, c, n = ctx.saved_tensors
        return _slstm_backward(dh.contiguous(), r, h, saved, c, n)


def slstm_recurrence(pre: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Stabilised sLSTM: pre (B, T, 4D) [z̃, ĩ, f̃, õ input parts], r (D, 4D) -> h (B, T, D)."""
    if torch.is_grad_enabled() and (pre.requires_grad or r.requires_grad):
        return _SLSTMScan.apply(pre, r)
    return _slstm_forward(pre, r)[0]


def slstm_reference(pre: torch.Tensor, r_heads: torch.Tensor) -> torch.Tensor:
    """Slow, unstabilised sLSTM for tests: explicit loops over steps and heads.

    pre: (B, T, 4, NH, DH); r_heads: (4, NH, DH, DH) -> (B, T, NH*DH). Use float64 and
    moderate inputs: exp(ĩ) is taken as is.
    """
    bsz, t_len, _, nh, dh = pre.shape
    h = pre.new_zeros(bsz, nh, dh)
    c, n = torch.zeros_like(h), torch.zeros_like(h)
    out = []
    for t in range(t_len):
        new_h = []
        for hd in range(nh):
            rec = [h[:, hd] @ r_heads[k, hd] for k in range(4)]
            z = torch.tanh(pre[:, t, 0, hd] + rec[0])
            i = torch.exp(pre[:, t, 1, hd] + rec[1])
            f = torch.sigmoid(pre[:, t, 2, hd] + rec[2])
            o = torch.sigmoid(pre[:, t, 3, hd] + rec[3])
            c[:, hd] = f * c[:, hd] + i * z
            n[:, hd] = f * n[:, hd] + i
            new_h.append(o * c[:, hd] / n[:, hd])
        h = torch.stack(new_h, dim=1)
        out.append(h.reshape(bsz, nh * dh))
    return torch.stack(out, dim=1)


# ----------------------------------------------------------------------------- mLSTM maths


def mlstm_parallel(q, k, v, i_pre, f_pre) -> torch.Tensor:
    """Stabilised parallel mLSTM. q, k, v: (B, NH, T, DH); i_pre, f_pre: (B, NH, T)
    -> h̃: (B, NH, T, DH). Time and memory O(T² · DH) per head."""
    t_len, dh = q.shape[2], q.shape[3]
    cum = torch.cumsum(F.logsigmoid(f_pre), dim=-1)  # (B, NH, T)
    d_tilde = cum.unsqueeze(-1) - cum.unsqueeze(-2) + i_pre.unsqueeze(-2)  # (B, NH, T, T)
    causal = torch.ones(t_len, t_len, dtype=torch.bool, device=q.device).tril()
    d_tilde = d_tilde.masked_fill(~causal, float("-inf"))
    m = d_tilde.amax(dim=-1, keepdim=True)  # (B, NH, T, 1), finite: diagonal is ĩ_t
    s = (q @ k.transpose(-1, -2)) / math.sqrt(dh) * torch.exp(d_tilde - m)  # (B, NH, T, T)
    norm = torch.maximum(s.sum(dim=-1, keepdim=True).abs(), torch.exp(-m))
    return (s / norm) @ v  # (B, NH, T, DH)


def mlstm_recurrent(q, k, v, i_pre, f_pre) -> torch.Tensor:
    """Stabilised recurrent mLSTM, same inputs/outputs as ``mlstm_parallel``; O(T · DH²)."""
    bsz, nh, t_len, dh = q.shape
    k = k / math.sqrt(dh)
    log_f = F.logsigmoid(f_pre)
    c_mat = q.new_zeros(bsz, nh, dh, dh)  # C: (v-dim, k-dim)
    n = q.new_zeros(bsz, nh, dh)
    m = q.new_full((bsz, nh), float("-inf"))
    out = []
    for t in range(t_len):
        m_new = torch.maximum(log_f[..., t] + m, i_pre[..., t])  # (B, NH)
        i_s = torch.exp(i_pre[..., t] - m_new).unsqueeze(-1)  # (B, NH, 1)
        f_s = torch.exp(log_f[..., t] + m - m_new).unsqueeze(-1)
        vk = v[:, :, t].unsqueeze(-1) * k[:, :, t].unsqueeze(-2)  # (B, NH, DH, DH)
        c_mat = f_s.unsqueeze(-1) * c_mat + i_s.unsqueeze(-1) * vk
        n = f_s * n + i_s * k[:, :, t]
        qt = q[:, :, t]
        num = (c_mat @ qt.unsqueeze(-1)).squeeze(-1)  # (B, NH, DH)
        den = torch.maximum((n * qt).sum(-1).abs(), torch.exp(-m_new)).unsqueeze(-1)
        out.append(num / den)
        m = m_new
    return torch.stack(out, dim=2)  # (B, NH, T, DH)


def mlstm_reference(q, k, v, i_pre, f_pre) -> torch.Tensor:
    """Slow, unstabilised recurrent mLSTM for tests (float64, moderate inputs)."""
    bsz, nh, t_len, dh = q.shape
    out = torch.zeros_like(v)
    for b in range(bsz):
        for hd in range(nh):
            c_mat = q.new_zeros(dh, dh)
            n = q.new_zeros(dh)
            for t in range(t_len):
                i, f = torch.exp(i_pre[b, hd, t]), torch.sigmoid(f_pre[b, hd, t])
                kt = k[b, hd, t] / math.sqrt(dh)
                c_mat = f * c_mat + i * torch.outer(v[b, hd, t], kt)
                n = f * n + i * kt
                qt = q[b, hd, t]
                out[b, hd, t] = c_mat @ qt / torch.clamp((n @ qt).abs(), min=1.0)
    return out


# ----------------------------------------------------------------------------- layers


class HeadNorm(nn.Module):
    """Per-head normalisation (the paper's group norm): (B, T, NH*DH) -> same shape."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        xh = x.view(b, t, self.num_heads, d // self.num_heads)
        xh = F.layer_norm(xh, xh.shape[-1:])
        return xh.reshape(b, t, d) * self.weight


class CausalConv(nn.Module):
    """Depthwise causal conv over time + SiLU: (B, T, D) -> (B, T, D); step t sees <= t.

    Written as a sum of shifted copies, y_t = b + Σ_j w_j ⊙ x_{t-j}: same maths as a
    depthwise ``nn.Conv1d`` with left padding (tested), whose backward was one of the largest
    costs in CPU profiles of the block."""

    def __init__(self, dim: int, kernel: int):
        super().__init__()
        self.kernel = kernel
        if kernel > 0:
            self.weight = nn.Parameter(torch.randn(kernel, dim) / math.sqrt(kernel))
            self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel == 0:
            return F.silu(x)
        y = x * self.weight[0] + self.bias
        for j in range(1, min(self.kernel, x.shape[1])):
            y = y + F.pad(x[:, :-j] * self.weight[j], (0, 0, j, 0))  # x_{t-j}, zero before t=0
        return F.silu(y)


class HeadwiseLinear(nn.Module):
    """Block-diagonal linear map(s) with ``block``-sized blocks (the paper's q/k/v
    projections): (..., D) -> (..., D), or (..., n_out, D) for ``n_out`` > 1 maps at once."""

    def __init__(self, dim: int, block: int = 4, n_out: int = 1):
        super().__init__()
        self.block = block if dim % block == 0 else 1
        self.n_out = n_out
        nb = dim // self.block
        w = torch.randn(nb, self.block, n_out * self.block) / math.sqrt(self.block)
        self.weight = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *lead, d = x.shape
        nb = d // self.block
        y = torch.einsum("nbi,bio->nbo", x.reshape(-1, nb, self.block), self.weight)
        y = y.reshape(-1, nb, self.n_out, self.block).transpose(1, 2)  # (N, n_out, nb, bs)
        y = y.reshape(*lead, self.n_out, d)
        return y.squeeze(-2) if self.n_out == 1 else y


class SLSTMLayer(nn.Module):
    """LN'd input (B, T, D) -> h (B, T, D); i, f gates read the conv branch, z, o the input."""

    def __init__(self, cfg: XLSTMConfig):
        super().__init__()
        d, nh = cfg.hidden, cfg.num_heads
        self.num_heads = nh
        self.conv = CausalConv(d, cfg.conv_kernel)
        self.w_zo = nn.Linear(d, 2 * d)
        self.w_if = nn.Linear(d, 2 * d)
        self.r = nn.Parameter(torch.randn(4, nh, d // nh, d // nh) / math.sqrt(d // nh))
        with torch.no_grad():  # forget bias > 0 so memory is kept at init (paper: 3..6)
            self.w_if.bias[d:] = torch.linspace(3.0, 6.0, d)
        self.norm = HeadNorm(d, nh)

    def recurrent_weight(self) -> torch.Tensor:
        """Block-diagonal R laid out for h @ R: (D, 4D), gate order z, i, f, o."""
        return torch.cat([torch.block_diag(*self.r[g]) for g in range(4)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x.shape[-1]
        zo = self.w_zo(x)  # (B, T, 2D)
        i_f = self.w_if(self.conv(x))  # (B, T, 2D)
        pre = torch.cat([zo[..., :d], i_f, zo[..., d:]], dim=-1)  # (B, T, 4D): z, i, f, o
        return self.norm(slstm_recurrence(pre, self.recurrent_weight()))


class MLSTMLayer(nn.Module):
    """Up-projected input (B, T, Di) and its conv branch -> h̃ (B, T, Di)."""

    def __init__(self, cfg: XLSTMConfig, d_inner: int):
        super().__init__()
        self.num_heads, self.form = cfg.num_heads, cfg.mlstm_form
        self.w_qk = HeadwiseLinear(d_inner, cfg.qkv_block, n_out=2)  # q and k in one product
        self.w_v = HeadwiseLinear(d_inner, cfg.qkv_block)
        self.w_gates = nn.Linear(3 * d_inner, 2 * cfg.num_heads)  # ĩ, f̃ per head
        with torch.no_grad():
            self.w_gates.bias[cfg.num_heads :] = torch.linspace(3.0, 6.0, cfg.num_heads)
        self.norm = HeadNorm(d_inner, cfg.num_heads)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.num_heads, d // self.num_heads).transpose(1, 2)  # (B,NH,T,DH)

    def forward(self, x: torch.Tensor, x_conv: torch.Tensor) -> torch.Tensor:
        q, k = self.w_qk(x_conv).unbind(-2)  # (B, T, Di) each
        v = self.w_v(x)
        gates = self.w_gates(torch.cat([q, k, v], dim=-1)).transpose(1, 2)  # (B, 2NH, T)
        i_pre, f_pre = gates[:, : self.num_heads], gates[:, self.num_heads :]
        fn = mlstm_parallel if self.form == "parallel" else mlstm_recurrent
        h = fn(self._heads(q), self._heads(k), self._heads(v), i_pre, f_pre)  # (B,NH,T,DH)
        b, _, t, _ = h.shape
        return self.norm(h.transpose(1, 2).reshape(b, t, -1))  # (B, T, Di)


class MLSTMBlock(nn.Module):
    def __init__(self, cfg: XLSTMConfig):
        super().__init__()
        d_inner = round(cfg.hidden * cfg.proj_factor / cfg.num_heads) * cfg.num_heads
        self.ln = nn.LayerNorm(cfg.hidden)
        self.up = nn.Linear(cfg.hidden, 2 * d_inner)
        self.conv = CausalConv(d_inner, cfg.conv_kernel)
        self.cell = MLSTMLayer(cfg, d_inner)
        self.skip = nn.Parameter(torch.ones(d_inner))
        self.down = nn.Linear(d_inner, cfg.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, gate = self.up(self.ln(x)).chunk(2, dim=-1)  # (B, T, Di) each
        a_conv = self.conv(a)
        h = self.cell(a, a_conv) + self.skip * a_conv
        return x + self.down(h * F.silu(gate))  # (B, T, D)


class SLSTMBlock(nn.Module):
    def __init__(self, cfg: XLSTMConfig):
        super().__init__()
        d = cfg.hidden
        d_ff = round(d * 4 / 3)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.cell = SLSTMLayer(cfg)
        self.up = nn.Linear(d, 2 * d_ff)
        self.down = nn.Linear(d_ff, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.cell(self.ln1(x))
        a, gate = self.up(self.ln2(x)).chunk(2, dim=-1)  # (B, T, d_ff) each
        return x + self.down(F.gelu(gate) * a)  # (B, T, D)


class XLSTMClassifier(SequenceClassifier):
    def __init__(self, cfg: XLSTMConfig, n_features: int, n_context: int):
        super().__init__()
        if cfg.hidden % cfg.num_heads or set(cfg.blocks) - {"m", "s"} or not cfg.blocks:
            raise ValueError("xlstm: hidden must divide by num_heads; blocks uses only 'm'/'s'")
        self.cfg = cfg
        self.inp = nn.Linear(n_features, cfg.hidden)
        self.blocks = nn.ModuleList(
            MLSTMBlock(cfg) if kind == "m" else SLSTMBlock(cfg) for kind in cfg.blocks
        )
        self.ln_out = nn.LayerNorm(cfg.hidden)
        self.embed_dim = cfg.hidden + n_context
        self.head = Head(self.embed_dim, cfg.dropout)

    def hidden_states(self, x: torch.Tensor, mask: torch.Tensor,
                      context: torch.Tensor) -> torch.Tensor:
        """(B, T, F) -> (B, T, D); causal, so step t depends on steps <= t only."""
        h = self.inp(x)
        for block in self.blocks:
            h = block(h)
        return self.ln_out(h)

    def embed(self, x: torch.Tensor, mask: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        h_last = last_valid(self.hidden_states(x, mask, context), mask)  # (B, D)
        return torch.cat([h_last, context], dim=-1)  # (B, D + S)
