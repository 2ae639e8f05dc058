import torch

from xbehavior.models.xlstm import (
    XLSTMClassifier,
    XLSTMConfig,
    mlstm_parallel,
    mlstm_recurrent,
    mlstm_reference,
    slstm_recurrence,
    slstm_reference,
)

B, T, NH, DH = 2, 7, 2, 3
D = NH * DH


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _slstm_inputs(scale=1.0):
    g = _gen()
    pre = torch.randn(B, T, 4, NH, DH, generator=g, dtype=torch.float64) * scale
    r_heads = torch.randn(4, NH, DH, DH, generator=g, dtype=torch.float64) * 0.5
    r_full = torch.cat([torch.block_diag(*r_heads[k]) for k in range(4)], dim=1)  # (D, 4D)
    return pre, r_heads, r_full


def _mlstm_inputs(scale=1.0):
    g = _gen(1)
    q, k, v = (torch.randn(B, NH, T, DH, generator=g, dtype=torch.float64) for _ in range(3))
    i_pre = torch.randn(B, NH, T, generator=g, dtype=torch.float64) * scale
    f_pre = torch.randn(B, NH, T, generator=g, dtype=torch.float64) * scale + 2.0
    return q, k, v, i_pre, f_pre


def test_slstm_matches_unstabilised_reference():
    pre, r_heads, r_full = _slstm_inputs()
    fast = slstm_recurrence(pre.reshape(B, T, 4 * D), r_full)
    torch.testing.assert_close(fast, slstm_reference(pre, r_heads))


def test_mlstm_parallel_recurrent_and_reference_agree():
    args = _mlstm_inputs()
    ref = mlstm_reference(*args)
    torch.testing.assert_close(mlstm_recurrent(*args), ref)
    torch.testing.assert_close(mlstm_parallel(*args), ref)


def test_gradcheck_cells():
    pre, _, r_full = _slstm_inputs()
    pre = pre.reshape(B, T, 4 * D)[:, :3].clone().requires_grad_(True)
    r_full = r_full.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(slstm_recurrence, (pre, r_full), eps=1e-6, atol=1e-5)
    args = tuple(a[..., :3, :].clone() if a.dim() == 4 else a[..., :3].clone()
                 for a in _mlstm_inputs())
    args = tuple(a.requires_grad_(True) for a in args)
    assert torch.autograd.gradcheck(mlstm_parallel, args, eps=1e-6, atol=1e-5)


def test_stable_on_long_sequences_with_large_inputs():
    pre, _, r_full = _slstm_inputs(scale=80.0)  # exp(80) overflows float32 unstabilised
    long = pre.float().reshape(B, T, 4 * D).repeat(1, 30, 1)  # T = 210
    assert torch.isfinite(slstm_recurrence(long, r_full.float())).all()
    q, k, v, i_pre, f_pre = (a.float() for a in _mlstm_inputs(scale=80.0))
    q, k, v = (a.repeat(1, 1, 30, 1) for a in (q, k, v))
    i_pre, f_pre = i_pre.repeat(1, 1, 30), f_pre.repeat(1, 1, 30)
    assert torch.isfinite(mlstm_parallel(q, k, v, i_pre, f_pre)).all()
    assert torch.isfinite(mlstm_recurrent(q, k, v, i_pre, f_pre)).all()


def test_full_model_no_nan_on_length_200_padded_batch():
    torch.manual_seed(0)
    m = XLSTMClassifier(XLSTMConfig(hidden=8, num_heads=2, blocks="msm"), 4, 3)
    x = torch.randn(3, 200, 4) * 100.0
    mask = torch.ones(3, 200, dtype=torch.bool)
    mask[1, 20:] = False
    x[1, 20:] = 0.0
    out = m(x, mask, torch.randn(3, 3))
    out.sum().backward()
    assert torch.isfinite(out).all()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def test_parallel_and_recurrent_model_forms_agree():
    torch.manual_seed(0)
    par = XLSTMClassifier(XLSTMConfig(hidden=8, num_heads=2, blocks="m"), 4, 3).double()
    rec = XLSTMClassifier(XLSTMConfig(hidden=8, num_heads=2, blocks="m",
                                      mlstm_form="recurrent"), 4, 3).double()
    rec.load_state_dict(par.state_dict())
    x, s = torch.randn(2, 9, 4, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    mask = torch.ones(2, 9, dtype=torch.bool)
    torch.testing.assert_close(par(x, mask, s), rec(x, mask, s))


def test_causal_conv_equals_left_padded_depthwise_conv1d():
    from torch.nn import functional as F

    from xbehavior.models.xlstm import CausalConv

    torch.manual_seed(0)
    conv = CausalConv(5, 4).double()
    x = torch.randn(2, 6, 5, dtype=torch.float64)
    w = conv.weight.flip(0).t().unsqueeze(1)  # (D, 1, K): Conv1d correlates, oldest tap first
    ref = F.conv1d(F.pad(x.transpose(1, 2), (3, 0)), w, conv.bias, groups=5).transpose(1, 2)
    torch.testing.assert_close(conv(x), F.silu(ref))


def test_headwise_linear_is_block_diagonal_matmul():
    from xbehavior.models.xlstm import HeadwiseLinear

    torch.manual_seed(0)
    lin = HeadwiseLinear(8, block=4, n_out=2).double()
    x = torch.randn(3, 5, 8, dtype=torch.float64)
    w = lin.weight  # (2 blocks, 4, 2*4)
    for out in range(2):
        full = torch.block_diag(*w[:, :, out * 4 : (out + 1) * 4])  # (8, 8)
        torch.testing.assert_close(lin(x)[..., out, :], x @ full)


def test_default_is_one_mlstm_block_of_factor_one():
    """The speed-bound default (docs/MODELS.md, Speed): hidden 64, one mLSTM block, inner
    width 64. Parameters by hand for F=20, S=15: input 20·64+64 = 1344; block: LN 128,
    up 64·128+128 = 8320, conv 4·64+64 = 320, q/k 16 blocks·4·8 = 512, v 16·4·4 = 256,
    gates 192·8+8 = 1544, head-norm 64, skip 64, down 64·64+64 = 4160 (15368); final LN 128;
    head Linear(64+15, 1) = 80 -> 16920."""
    cfg = XLSTMConfig()
    assert (cfg.hidden, cfg.blocks, cfg.proj_factor, cfg.num_heads) == (64, "m", 1.0, 4)
    m = XLSTMClassifier(cfg, 20, 15)
    assert m.blocks[0].down.in_features == 64
    assert sum(p.numel() for p in m.blocks[0].parameters()) == 15368
    assert sum(p.numel() for p in m.parameters()) == 16920
