"""What the plugin's 2D backbones over clips of ``num_segments`` frames share."""
from ...ops.temporal_shift import check_shift_input


class ClipBackboneMixin:
    """Put first in the bases of a 2D backbone fed ``(N*T, C, H, W)`` clips
    that has ``self.num_segments``: an input that does not hold whole clips is
    refused before any work, and ``train()`` returns the module (MMAction2's
    ``ResNet.train`` and ``MobileNetV2.train`` return None)."""

    def forward(self, x):
        check_shift_input(x, self.num_segments)
        return super().forward(x)

    def forward_2d(self, x):
        """Frame by frame, without the whole-clip check (streaming)."""
        return super().forward(x)

    def train(self, mode=True):
        super().train(mode)
        return self
