"""A row with no real step (all padding) gives a finite output: the representation of h_0 = 0."""

import pytest
import torch

from xbehavior.models.common import last_valid, masked_softmax
from xbehavior.models.registry import SEQUENCE_MODELS


def test_masked_softmax_and_last_valid_on_an_empty_row():
    scores = torch.tensor([[1.0, 2.0, 3.0], [5.0, -1.0, 7.0]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    w = masked_softmax(scores, mask)
    e = torch.exp(torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(w[0], torch.tensor([e[0] / e.sum(), e[1] / e.sum(), 0.0]))
    assert w[1].tolist() == [0.0, 0.0, 0.0]
    h = torch.arange(2 * 3 * 2, dtype=torch.float32).view(2, 3, 2)
    # row 0: its last real step is step 1 -> h[0, 1] = [2, 3]; row 1: no real step -> zeros
    assert last_valid(h, mask).tolist() == [[2.0, 3.0], [0.0, 0.0]]


@pytest.mark.parametrize("name", SEQUENCE_MODELS)
def test_all_padding_row_is_finite_and_reads_only_context(name, tiny_model):
    m = tiny_model(name)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 4, generator=g)
    s = torch.randn(2, 3, generator=g)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1] = False  # row 1 has no real step
    x[1] = 0.0
    e = m.embed(x, mask, s)
    # the sequence part of the representation is zeros; the context passes through unchanged
    assert e[1, :-3].abs().max().item() == 0.0
    torch.testing.assert_close(e[1, -3:], s[1])
    logits = m(x, mask, s)
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(logits[1], m.head(torch.cat([torch.zeros(e.shape[1] - 3), s[1]])))
    logits.sum().backward()  # gradients stay finite too (the softmax row is not all -inf)
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)
