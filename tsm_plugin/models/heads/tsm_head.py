"""``TSMHead``: MMAction2's TSMHead with its inputs checked."""
from mmaction.models.heads import TSMHead as MMActionTSMHead
from mmaction.utils import get_str_type

from ...registry import MODELS
from ..clip_layout import check_clip_layout


@MODELS.register_module()
class TSMHead(MMActionTSMHead):
    """MMAction2's ``TSMHead`` (same arguments, same weights, same outputs).

    Avg spatial pool, dropout, fc, then average over the ``num_segments`` frames
    of each clip (``num_segments // 2`` under temporal pool); ``average_clips``
    averages views at test time. Differences: a consensus other than
    ``AvgConsensus`` and inputs that do not hold whole clips raise a clear
    ``ValueError`` instead of failing later or mixing clips; so do, in ``loss``
    and ``predict``, data samples whose pipeline sampled ``num_clips x
    clip_len`` frames per view other than ``num_segments`` (when their metainfo
    records them, see ``tsm_plugin.models.clip_layout``).
    """

    def __init__(self, num_classes, in_channels, num_segments=8, **kwargs):
        consensus = kwargs.get('consensus', dict(type='AvgConsensus'))
        if get_str_type(consensus.get('type')) != 'AvgConsensus':
            raise ValueError('TSMHead supports consensus=dict(type='
                             f"'AvgConsensus'), got consensus={consensus!r}")
        if isinstance(num_segments, bool) or not isinstance(num_segments, int) \
                or num_segments < 1:
            raise ValueError(
                f'num_segments must be a positive int, got {num_segments!r}')
        super().__init__(num_classes, in_channels, num_segments, **kwargs)
        if self.is_shift and self.temporal_pool and num_segments % 2:
            raise ValueError('temporal_pool halves the frames: it needs an even '
                             f'num_segments, got num_segments={num_segments}')

    @property
    def frames_per_clip(self):
        """Frames per clip in the backbone's output."""
        if self.is_shift and self.temporal_pool:
            return self.num_segments // 2
        return self.num_segments

    def forward(self, x, num_segs=None, **kwargs):
        if num_segs is not None and num_segs % self.num_segments:
            raise ValueError(
                f'each sample holds {num_segs} frames, which is not a multiple '
                f'of the head\'s num_segments={self.num_segments}: the pipeline\'s '
                'num_clips (x clip_len x crops) must match the model')
        if x.shape[0] % self.frames_per_clip:
            raise ValueError(
                f'TSMHead got {x.shape[0]} frame features, not a multiple of '
                f'{self.frames_per_clip} frames per clip (num_segments='
                f'{self.num_segments}, temporal_pool={self.temporal_pool})')
        return super().forward(x, num_segs, **kwargs)

    def loss(self, feats, data_samples, **kwargs):
        check_clip_layout(data_samples, self.num_segments, 'TSMHead')
        return super().loss(feats, data_samples, **kwargs)

    def loss_by_feat(self, cls_scores, data_samples):
        # MMAction2's top-k accuracy goes through numpy, which has no
        # bfloat16 (bfloat16 autocast, or --amp with dtype='bfloat16'); the
        # loss itself autocasts to float32 anyway.
        return super().loss_by_feat(cls_scores.float(), data_samples)

    def predict(self, feats, data_samples, **kwargs):
        check_clip_layout(data_samples, self.num_segments, 'TSMHead')
        return super().predict(feats, data_samples, **kwargs)
