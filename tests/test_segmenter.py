"""The segmentation module: the channels-last memory format changes speed, not results."""

from __future__ import annotations

from functools import partial

import torch
from monai.losses import DiceCELoss
from monai.networks.nets import UNet

from fair_seg_al.model import SegmentationModule


def _module(channels_last: bool) -> SegmentationModule:
    torch.manual_seed(0)
    net = UNet(3, 1, 2, channels=(4, 8, 16), strides=(2, 2), num_res_units=1)
    return SegmentationModule(
        net, DiceCELoss(to_onehot_y=True, softmax=True), partial(torch.optim.Adam, lr=1e-3), channels_last=channels_last
    )


def test_channels_last_gives_the_same_outputs_and_loads_the_same_weights():
    plain, fast = _module(False), _module(True)
    x = torch.randn(2, 1, 8, 12, 16)
    assert torch.allclose(plain(x), fast(x), atol=1e-5)  # same init, same numbers up to rounding
    conv = next(m for m in fast.net.modules() if isinstance(m, torch.nn.Conv3d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last_3d)
    # weights saved by either layout load into the other
    fast.load_state_dict(plain.state_dict())
    assert torch.allclose(plain(x), fast(x), atol=1e-5)
    probs = fast.probabilities(x)
    assert probs.shape == (2, 2, 8, 12, 16) and torch.allclose(probs.sum(dim=1), torch.ones(2, 8, 12, 16), atol=1e-5)
