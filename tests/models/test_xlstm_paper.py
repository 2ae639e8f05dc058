import pytest
import torch
from torch import nn

from xbehavior.models.xlstm_paper import (
    XLSTMPaperClassifier,
    XLSTMPaperConfig,
    recurrence,
    recurrence_reference,
)

GROUPS = {"behaviour": [0, 1], "product": [2], "time": [3]}
OFF = dict(context_forget=False, feature_gate=False, multi_cell=False, attention=False)


def _model(**kw) -> XLSTMPaperClassifier:
    torch.manual_seed(0)
    cfg = XLSTMPaperConfig(hidden=kw.pop("hidden", 5), **{**OFF, **kw})
    return XLSTMPaperClassifier(cfg, 4, 3, GROUPS).double()


def _inputs(b=3, t=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, 4, generator=g, dtype=torch.float64)
    s = torch.randn(b, 3, generator=g, dtype=torch.float64)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[0, 4:] = False
    return x, mask, s


def test_all_off_is_torch_lstm():
    m = _model()
    lstm = nn.LSTM(4, 5, batch_first=True).double()
    with torch.no_grad():
        m.cell.w_in.weight.copy_(lstm.weight_ih_l0)
        m.cell.w_in.bias.copy_(lstm.bias_ih_l0 + lstm.bias_hh_l0)
        m.cell.u.weight.copy_(lstm.weight_hh_l0)
    x, _, s = _inputs()
    torch.testing.assert_close(m.cell(x, s), lstm(x)[0])
    assert m.cell.proj is None and m.cell.v_f is None and m.cell.feature_gate is None


def test_context_forget_switch():
    x, _, s = _inputs()
    off, on = _model(), _model(context_forget=True)
    assert torch.equal(off.cell(x, s), off.cell(x, s + 1.0))  # no path from s into the cell
    assert not torch.allclose(on.cell(x, s), on.cell(x, s + 1.0))
    on.load_state_dict(off.state_dict(), strict=False)
    with torch.no_grad():
        on.cell.v_f.weight.zero_()  # V_f = 0 is exactly "off"
    torch.testing.assert_close(on.cell(x, s), off.cell(x, s))


def test_feature_gate_switch():
    x, _, s = _inputs()
    off, on = _model(), _model(feature_gate=True)
    on.load_state_dict(off.state_dict(), strict=False)
    assert not torch.allclose(on.cell(x, s), off.cell(x, s))
    with torch.no_grad():  # a_t = σ(0·x + 40) = 1 in float64: the gate is "off"
        on.cell.feature_gate.weight.zero_()
        on.cell.feature_gate.bias.fill_(40.0)
    torch.testing.assert_close(on.cell(x, s), off.cell(x, s))


def test_multi_cell_switch_gives_one_block_per_group():
    on = _model(multi_cell=True, hidden=6)
    cell = on.cell
    assert cell.n_groups == 3 and cell.n_cell == 6  # ceil(6/3)=2 units per group
    wz = cell.input_weight()[2 * 6 : 3 * 6]  # candidate rows, (C, F)
    # behaviour cells (rows 0-1) read features 0,1 only; product (2-3) feature 2; time (4-5) 3
    assert torch.all(wz[0:2, 2:] == 0) and torch.all(wz[2:4, [0, 1, 3]] == 0)
    assert torch.all(wz[4:6, :3] == 0) and torch.all(wz[0:2, :2] != 0)
    assert _model().cell.z_mask is None  # off: the candidate reads every feature


def test_attention_switch():
    x, mask, s = _inputs()
    off = _model()
    h = off.cell(x, s)
    last = torch.stack([h[0, 3], h[1, 5], h[2, 5]])
    torch.testing.assert_close(off.embed(x, mask, s), torch.cat([last, s], dim=-1))
    on = _model(attention=True)
    alpha = on.attn.weights(on.cell(x, s), mask, s)
    assert torch.all(alpha[0, 4:] == 0)
    torch.testing.assert_close(alpha.sum(1), torch.ones(3, dtype=torch.float64))
    r = torch.einsum("bt,bth->bh", alpha, on.cell(x, s))
    torch.testing.assert_close(on.embed(x, mask, s)[:, :5], r)


@pytest.mark.parametrize("attention", [False, True])
def test_gradcheck_full_model(attention):
    m = XLSTMPaperClassifier(XLSTMPaperConfig(hidden=3, attention=attention), 4, 3, GROUPS)
    m = m.double()
    x, mask, s = _inputs(b=2, t=3)
    x.requires_grad_(True)
    s.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, c: m(a, mask, c), (x, s), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("with_p", [False, True])
def test_fast_scan_matches_reference_and_gradcheck(with_p):
    g = torch.Generator().manual_seed(2)
    b, t, h, c = 2, 4, 3, (6 if with_p else 3)
    pre = torch.randn(b, t, 3 * c + h, generator=g, dtype=torch.float64).requires_grad_(True)
    u = torch.randn(3 * c + h, h, generator=g, dtype=torch.float64).requires_grad_(True)
    p = torch.randn(h, c, generator=g, dtype=torch.float64).requires_grad_(True) if with_p else None
    torch.testing.assert_close(recurrence(pre, u, p, c), recurrence_reference(pre, u, p, c))
    args = (pre, u, p) if with_p else (pre, u)
    assert torch.autograd.gradcheck(lambda *a: recurrence(*a, c) if with_p
                                    else recurrence(a[0], a[1], None, c), args)
