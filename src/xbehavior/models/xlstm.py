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
of blocks (``blocks``, default one mLSTM block), a final LN, h at the last real step,
[h_T; s] → logit.
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
    # One letter per block, bottom first: m = mLSTM block, s = sLSTM block. Default: one mLSTM
    # block with up-projection factor 1 (the paper's is 2, with sLSTM blocks too): the sLSTM's
    # per-step loop and the ×2 projection put "ms" at ~7× fused nn.LSTM's training time on
    # 2 CPU cores, this at ≤3× (docs/MODELS.md, Speed). The other stacks stay available.
    blocks: str = "m"
    proj_factor: float = 1.0  # mLSTM up-projection
    conv_kernel: int = 4  # causal depthwise conv; 0 turns it off
    qkv_block: int = 4  # mLSTM q/k/v projections are block-diagonal with this block size
    mlstm_form: str = "parallel"  # "parallel" or "recurrent" (same maths; tests compare them)
    dropout: float = 0.0  # on every residual branch's output and before the head (training only)


# ----------------------------------------------------------------------------- sLSTM maths


def _slstm_forward(pre: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """sLSTM loop in normalised form. pre: (B, T, 4D) input parts of z̃, ĩ, f̃, õ; r: (D, 4D)
    block-diagonal recurrent weights -> h (B,T,D) and, for the backward, the pre-activations
    g (B,T,4D), z, o, w, c̄ (B,T,D) each.

    Carries c̄_t = c_t / n_t and ℓ_t = log n_t + m_t (the log of the unstabilised normaliser)
    instead of (c, n, m): with a_t = log f_t + ℓ_{t-1} and u_t = ĩ_t − a_t,
    w_t = i_t / (f_t n_{t-1} + i_t) = σ(u_t),  c̄_t = c̄_{t-1} + w_t (z_t − c̄_{t-1}),
    ℓ_t = log(e^{a_t} + e^{ĩ_t}) = ĩ_t − log σ(u_t),  h_t = o_t c̄_t.
    Exactly the stabilised recurrence's h (c/n is what it computes), with no exp at all, and
    about half the kernel launches per step, which is what a CPU step costs at these sizes.
    ℓ_0 = −∞ gives u_1 = +∞, w_1 = 1, ℓ_1 = ĩ_1 without special-casing the first step.
    Each step writes straight into preallocated time-major (T, B, ·) buffers, so every
    per-step slice is contiguous (no per-step stack/cat, no strided copies); the returned h
    is a (B, T, D) view of one of them.
    """
    b, t_len, d = pre.shape[0], pre.shape[1], r.shape[0]
    g_all = pre.new_empty(t_len, b, 4 * d)
    z_all, o_all, w_all, cbar_all, h_all = (pre.new_empty(t_len, b, d) for _ in range(5))
    h = pre.new_zeros(b, d)
    cbar = pre.new_zeros(b, d)
    ell = pre.new_full((b, d), float("-inf"))
    for t in range(t_len):
        g = torch.addmm(pre[:, t], h, r, out=g_all[t])  # (B, 4D)
        z = torch.tanh(g[:, :d], out=z_all[t])
        o = torch.sigmoid(g[:, 3 * d :], out=o_all[t])
        i_t = g[:, d : 2 * d]
        u = i_t - F.logsigmoid(g[:, 2 * d : 3 * d])
        u -= ell  # u_t = ĩ_t − log f_t − ℓ_{t−1}
        w = torch.sigmoid(u, out=w_all[t])
        ell = i_t - F.logsigmoid(u)
        cbar = torch.addcmul(cbar, w, z - cbar, out=cbar_all[t])
        h = torch.mul(o, cbar, out=h_all[t])
    return h_all.transpose(0, 1), g_all, z_all, o_all, w_all, cbar_all


def _slstm_backward(dh_all: torch.Tensor, r: torch.Tensor, g_all: torch.Tensor,
                    z_all: torch.Tensor, o_all: torch.Tensor, w_all: torch.Tensor,
                    cbar_all: torch.Tensor, h_all: torch.Tensor):
    """Backprop through time of ``_slstm_forward`` by hand -> (d pre (B,T,4D), d r (D,4D)).

    dh_all (B, T, D); the saved tensors are the forward's time-major (T, B, ·) buffers.
    Everything that does not depend on the backward recurrence (1 − z², 1 − w, w(1 − w),
    z − c̄_{t−1}, σ(f̃) − 1, c̄ o (1 − o)) is computed for all steps at once before the loop;
    the loop carries dh (through R), dc̄ and dℓ. Checked by gradcheck in the tests.
    """
    t_len, b, d = h_all.shape
    dh_all = dh_all.transpose(0, 1)  # (T, B, D) view
    one_m_z2 = 1 - z_all * z_all
    one_m_w = 1 - w_all
    w_one_m_w = w_all * one_m_w
    z_m_cbar = z_all - torch.cat([cbar_all.new_zeros(1, b, d), cbar_all[:-1]])  # z_t − c̄_{t−1}
    sig_f_m1 = torch.sigmoid(g_all[..., 2 * d : 3 * d]) - 1  # d log σ(f̃) / d f̃ = −(σ(f̃) − 1)
    cbar_dsig_o = cbar_all * o_all * (1 - o_all)
    dpre = g_all.new_empty(t_len, b, 4 * d)
    rt = r.t()
    dcbar_next = g_all.new_zeros(b, d)  # dL/dc̄_t through c̄_{t+1}
    dl = g_all.new_zeros(b, d)  # dL/dℓ_t through u_{t+1}
    dh_rec = None
    for t in range(t_len - 1, -1, -1):
        dh = dh_all[t] if dh_rec is None else dh_all[t] + dh_rec
        dcbar = torch.addcmul(dcbar_next, dh, o_all[t])
        dpre_t = dpre[t]
        torch.mul(dcbar * w_all[t], one_m_z2[t], out=dpre_t[:, :d])  # d z̃
        du = dcbar * z_m_cbar[t] * w_one_m_w[t]  # via w = σ(u)
        du.addcmul_(dl, one_m_w[t], value=-1)  # via ℓ_t = ĩ_t − log σ(u_t)
        torch.add(dl, du, out=dpre_t[:, d : 2 * d])  # d ĩ: through ℓ_t and u_t
        torch.mul(du, sig_f_m1[t], out=dpre_t[:, 2 * d : 3 * d])  # d f̃ = −du (1 − σ(f̃))
        torch.mul(dh, cbar_dsig_o[t], out=dpre_t[:, 3 * d :])  # d õ
        dcbar_next = dcbar * one_m_w[t]
        dl = -du
        dh_rec = dpre_t @ rt
    h_prev = torch.cat([h_all.new_zeros(1, b, d), h_all[:-1]])  # (T, B, D)
    dr = h_prev.reshape(-1, d).t() @ dpre.reshape(-1, 4 * d)  # Σ_t h_{t-1}ᵀ dg_t
    return dpre.transpose(0, 1), dr


class _SLSTMScan(torch.autograd.Function):
    """sLSTM with a hand-written backward (several times faster on CPU than autograd's many
    small ops); gradcheck-ed in the tests."""

    @staticmethod
    def forward(ctx, pre, r):
        h, *saved = _slstm_forward(pre, r)
        ctx.save_for_backward(r, *saved, h.transpose(0, 1))  # buffers are time-major
        return h

    @staticmethod
    def backward(ctx, dh):
        return _slstm_backward(dh, *ctx.saved_tensors)


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


def mlstm_parallel(q, k, v, i_pre, f_pre, scale: float | None = None) -> torch.Tensor:
    """Stabilised parallel mLSTM. q, k, v: (B, NH, T, DH); i_pre, f_pre: (B, NH, T)
    -> h̃: (B, NH, T, DH); k is scaled by ``scale`` (default 1/√DH). Time and memory
    O(T² · DH) per head: for the short sequences here (T ≤ 64) this is a handful of batched
    matmuls and (B, NH, T, T) element-wise ops instead of T recurrent steps.

    The stabiliser m is detached: h̃ does not depend on it (multiply numerator and
    denominator by e^m), so its gradient is exactly zero and autograd need not route one
    through the row max. The scale enters as exp(D̃ − m + log scale), sparing a (T, T) pass.
    """
    t_len, dh = q.shape[2], q.shape[3]
    scale = 1.0 / math.sqrt(dh) if scale is None else scale
    cum = torch.cumsum(F.logsigmoid(f_pre), dim=-1)  # (B, NH, T)
    d_tilde = cum.unsqueeze(-1) + (i_pre - cum).unsqueeze(-2)  # (B, NH, T, T): D̃_ts
    upper = torch.ones(t_len, t_len, dtype=torch.bool, device=q.device).triu(1)
    d_tilde = d_tilde.masked_fill_(upper, float("-inf"))  # s > t
    m = d_tilde.amax(dim=-1, keepdim=True).detach()  # (B, NH, T, 1), finite: diagonal is ĩ_t
    s = (q @ k.transpose(-1, -2)) * torch.exp(d_tilde - (m - math.log(scale)))  # (B,NH,T,T)
    norm = torch.maximum(s.sum(dim=-1, keepdim=True).abs(), torch.exp(-m))  # (B, NH, T, 1)
    return (s @ v) / norm  # (B, NH, T, DH)


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
        xh = x.reshape(b, t, self.num_heads, d // self.num_heads)
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

    def dense(self) -> torch.Tensor:
        """The full (D, n_out·D) weight, zero off the diagonal blocks: output column
        o·D + m·block + j reads block m. One dense matmul beats D/block tiny batched ones."""
        nb, bs, n_out = self.weight.shape[0], self.block, self.n_out
        eye = torch.eye(nb, dtype=self.weight.dtype, device=self.weight.device)
        w = self.weight.view(nb, bs, n_out, 1, bs) * eye.view(nb, 1, 1, nb, 1)
        return w.reshape(nb * bs, n_out * nb * bs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *lead, d = x.shape
        y = (x @ self.dense()).view(*lead, self.n_out, d)
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

    def fused_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(A (Di, 2Di + 2NH), Bv (Di, Di + 2NH)) with x_conv @ A = [q, k, gate part from q, k]
        and x @ Bv = [v, gate part from v]: the gate pre-activations are linear in q, k, v, so
        their weights fold into the q/k/v maps and the (B, T, 3Di) concat disappears."""
        di = self.w_v.weight.shape[0] * self.w_v.block
        w_qk, w_v = self.w_qk.dense(), self.w_v.dense()  # (Di, 2Di), (Di, Di)
        g = self.w_gates.weight  # (2NH, 3Di)
        return (torch.cat([w_qk, w_qk @ g[:, : 2 * di].t()], dim=1),
                torch.cat([w_v, w_v @ g[:, 2 * di :].t()], dim=1))

    def forward(self, x: torch.Tensor, x_conv: torch.Tensor) -> torch.Tensor:
        di, nh = x.shape[-1], self.num_heads
        a_mat, b_mat = self.fused_weights()
        qkg = x_conv @ a_mat  # (B, T, 2Di + 2NH): q, k, gates from q and k
        vg = x @ b_mat  # (B, T, Di + 2NH): v, gates from v
        gates = (qkg[..., 2 * di :] + vg[..., di:] + self.w_gates.bias).transpose(1, 2)
        i_pre, f_pre = gates[:, :nh], gates[:, nh:]  # (B, NH, T) each
        q, k, v = (self._heads(t) for t in (qkg[..., :di], qkg[..., di : 2 * di], vg[..., :di]))
        fn = mlstm_parallel if self.form == "parallel" else mlstm_recurrent
        h = fn(q, k, v, i_pre, f_pre)  # (B, NH, T, DH)
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
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, gate = self.up(self.ln(x)).chunk(2, dim=-1)  # (B, T, Di) each
        a_conv = self.conv(a)
        h = torch.addcmul(self.cell(a, a_conv), self.skip, a_conv)  # + learnable skip
        return x + self.drop(self.down(h * F.silu(gate)))  # (B, T, D)


class SLSTMBlock(nn.Module):
    def __init__(self, cfg: XLSTMConfig):
        super().__init__()
        d = cfg.hidden
        d_ff = round(d * 4 / 3)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.cell = SLSTMLayer(cfg)
        self.up = nn.Linear(d, 2 * d_ff)
        self.down = nn.Linear(d_ff, d)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.cell(self.ln1(x)))
        a, gate = self.up(self.ln2(x)).chunk(2, dim=-1)  # (B, T, d_ff) each
        return x + self.drop(self.down(F.gelu(gate) * a))  # (B, T, D)


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
