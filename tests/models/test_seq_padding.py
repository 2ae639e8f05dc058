import pytest
import torch

from xbehavior.models.registry import SEQUENCE_MODELS, build_model


@pytest.mark.parametrize("name", SEQUENCE_MODELS)
def test_padded_steps_do_not_change_output(name, tiny_model):
    m = tiny_model(name)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, 4, generator=g)
    s = torch.randn(3, 3, generator=g)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[0, 2:] = False
    x[0, 2:] = 0.0
    # the same sequences with 4 more padded steps that hold garbage (not even zeros)
    x_long = torch.cat([x, torch.randn(3, 4, 4, generator=g)], dim=1)
    x_long[0, 2:5] = 0.0
    mask_long = torch.cat([mask, torch.zeros(3, 4, dtype=torch.bool)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(m(x_long, mask_long, s), m(x, mask, s))
        torch.testing.assert_close(m.embed(x_long, mask_long, s), m.embed(x, mask, s))
        # row 0 alone, cut to its 2 real steps, gives the same logit as inside the batch
        torch.testing.assert_close(m(x[:1, :2], mask[:1, :2], s[:1]), m(x, mask, s)[:1])
    assert m.embed(x, mask, s).shape == (3, m.embed_dim)


def test_unknown_model_and_setting_are_one_line_errors():
    from xbehavior.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown model"):
        build_model("gru", None, 4, 3)
    with pytest.raises(ConfigError, match="hiden"):
        build_model("lstm", {"hiden": 3}, 4, 3)
