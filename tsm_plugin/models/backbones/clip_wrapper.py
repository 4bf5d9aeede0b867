"""``Clip2DBackbone``: any 2D backbone, run over clips of ``num_segments``
frames; the base of ``TSMBackbone`` and ``TAdaBackbone``."""
import contextlib

import torch
from torch import nn

from ...ops.tadaconv import check_num_segments
from ...ops.temporal_shift import check_shift_input
from ..blocks import in_channels, set_module
from ..zoo import build_2d_backbone, feature_map


class Clip2DBackbone(nn.Module):
    """A 2D network (child ``backbone``, its names kept) fed ``(N*T, 3, H, W)``
    frames, returning one feature map ``(N*T, C, h, w)`` per frame.

    Args:
        backbone (dict): the 2D network's config: MMAction2's or the
            plugin's registry names, ``'mmpretrain.X'``, ``'timm.X'``,
            ``'torchvision.X'``, with that library's own arguments (and
            weights: timm ``pretrained``, torchvision ``weights``,
            mmpretrain/MMAction2 ``init_cfg``).
        num_segments (int): frames per clip (T).

    Subclasses that replace modules of the network record
    ``(name, replacement)`` in ``self.replaced`` where the replacement keeps
    the original as its child ``net``: ``init_weights`` takes them out while
    the network's own init (e.g. an ``init_cfg`` checkpoint) runs, so its
    names match.
    """

    def __init__(self, backbone, num_segments=8):
        super().__init__()
        check_num_segments(num_segments)
        self.backbone, self.source = build_2d_backbone(backbone)
        self.num_segments = num_segments
        self.replaced = []
        self.out_channels = self._probe_channels()

    def _probe_channels(self):
        """Channels of the feature map, from one small frame in eval mode
        (BN statistics, e.g. a pretrained network's, stay as they are). Each
        module's training flag is put back as the library left it: a
        network's own ``train()`` may not restore modules it built frozen."""
        modes = [(m, m.training) for m in self.backbone.modules()]
        self.backbone.eval()
        try:
            with torch.no_grad():
                x = torch.zeros(1, in_channels(self.backbone) or 3, 64, 64)
                return self.forward_2d(x).shape[1]
        finally:
            for module, training in modes:
                module.training = training

    def forward(self, x):
        check_shift_input(x, self.num_segments)
        return self.forward_2d(x)

    def forward_2d(self, x):
        """Frame by frame, without the whole-clip check (streaming)."""
        return feature_map(self.backbone, self.source, x)

    @contextlib.contextmanager
    def original_modules(self):
        """The network as its library built it, while inside."""
        for name, module in reversed(self.replaced):
            set_module(self.backbone, name, module.net)
        try:
            yield self.backbone
        finally:
            for name, module in self.replaced:
                set_module(self.backbone, name, module)

    def init_weights(self):
        """The network's own init (timm and torchvision networks are built
        initialised, with their weights, and have none)."""
        init = getattr(self.backbone, 'init_weights', None)
        if init is not None:
            with self.original_modules():
                init()

    def extra_repr(self):
        return f'source={self.source!r}, num_segments={self.num_segments}'
