"""Online TSM: recognise a stream frame by frame at the cost of one 2D frame.

With a uni-directional shift, channels ``[0, fold)`` of frame t come from frame
t-1 and the rest from frame t (``fold = C // shift_div``). So each shifted layer
needs, from the past, only the ``fold`` channels of its previous input: the
streamer keeps them as one buffer per shifted layer, and every new frame costs a
single 2D forward of the backbone. Results equal the offline model run over the
whole stream as one clip (frame t of the stream = frame t of the clip; the
first frame reads zeros, as the offline shift pads).
"""
import collections
import contextlib

import torch
from mmaction.models.backbones.resnet_tsm import \
    TemporalShift as MMActionTemporalShift
from mmcv.cnn import ConvModule, NonLocal3d
from torch import nn

from ..ops import TAdaConv2d, TemporalShift
from ..ops.lean_shift_conv import can_fuse
from ..ops.temporal_shift import is_channels_last, use_plain_ops

# Modules that read other frames than the current one (and past shifts).
READS_OTHER_FRAMES = (
    (NonLocal3d, 'non-local blocks: they attend over all frames of the '
     'clip, the future too'),
    (TAdaConv2d, "TAdaConv: its calibration reads the neighbouring frames "
     '(a temporal kernel of 3, the next frame too) and a clip-wide '
     'descriptor'),
)


class StreamingShift(nn.Module):
    """One shifted layer, one frame at a time: the moving channels of the
    input come from ``history`` (the previous frame's), the rest from ``x``.

    Shares ``net`` with the ``TemporalShift`` it stands in for. ``history``
    is set by ``StreamingRecognizer.forward`` before the backbone runs;
    ``None`` reads zeros (a stream's first frame). After the run,
    ``new_history`` holds this frame's moving channels.
    """

    def __init__(self, shift):
        super().__init__()
        self.net = shift.net
        self.shift_div = shift.shift_div
        self.history = None
        self.new_history = None

    @staticmethod
    def reads_input_once(net):
        """``net`` only reads its input, and its output is a new tensor: a
        plain conv, or a ConvModule that starts with one (its norm and
        activation act on the conv's output). Its input may then be changed
        and restored around the call."""
        if isinstance(net, ConvModule):
            return (net.order[0] == 'conv' and not net.with_explicit_padding
                    and can_fuse(net.conv)
                    and not (net._forward_hooks or net._forward_pre_hooks))
        return can_fuse(net)

    def forward(self, x):
        fold = x.shape[1] // self.shift_div
        history = self.history
        if history is None:
            history = torch.zeros_like(x[:, :fold])
        elif history.shape != x[:, :fold].shape:
            raise ValueError(
                f'a streaming buffer has shape {tuple(history.shape)}, but this '
                f'frame needs {tuple(x[:, :fold].shape)}: buffers belong to '
                'frames of one size and batch; start with zero_buffers(frames)')
        if use_plain_ops() or torch.is_grad_enabled() \
                or not self.reads_input_once(self.net):
            self.new_history = x[:, :fold]
            return self.net(torch.cat([history, x[:, fold:]], 1))
        # Eager inference: swap the moving channels in place, run the conv,
        # swap them back (x is also the block's residual input): 3/8 of a
        # copy of x at shift_div=8 where the concatenation copies all of it.
        # MobileNetV2's shifted layers, one frame: 0.72 of the concatenation
        # (control 0.91); four frames: no gain (docs/performance.md).
        moving = x[:, :fold]
        self.new_history = moving.clone()
        moving.copy_(history)
        try:
            return self.net(x)
        finally:
            moving.copy_(self.new_history)


class StreamingRecognizer(nn.Module):
    """Run a uni-directional TSM recognizer on streams, one frame per step.

    Args:
        recognizer (nn.Module): an MMAction2 2D recognizer (``backbone`` +
            ``cls_head``, no neck) whose backbone is one of the plugin's
            shifted backbones (``TSMBackbone`` over any 2D network,
            ``ResNetTSM``, ``MobileNetV2TSM``, ...) with
            ``shift_mode='unidirectional'``. Its weights are shared, not
            copied; it stays usable offline. Stream in eval mode
            (``recognizer.eval()``; ``from_config`` does it).
        average_last (int): the displayed scores (``smoothed_scores``) are the
            mean of the last ``average_last`` per-frame scores. Default 8.

    Two interfaces:

    - pure, traceable (``torch.onnx.export``): ``buffers = zero_buffers(frames)``,
      then ``scores, *buffers = model(frames, *buffers)`` per frame;
    - stateful: ``reset()``, then ``scores = step(frames)`` per frame;
      ``smoothed_scores`` holds the running average.

    ``frames`` is ``(B, 3, H, W)``: the next preprocessed frame of each of B
    streams. ``scores`` is ``(B, num_classes)``: the head's pool + fc on that
    frame (logits; the offline clip score is their mean over the clip).
    """

    def __init__(self, recognizer, average_last=8):
        super().__init__()
        if isinstance(average_last, bool) or not isinstance(
                average_last, int) or average_last < 1:
            raise ValueError(
                f'average_last must be an int >= 1, got {average_last!r}')
        self.frame_forward = check_streamable(recognizer)
        self.recognizer = recognizer
        self.average_last = average_last
        backbone = recognizer.backbone
        # (parent, child name, TemporalShift, StreamingShift) per shifted layer
        self.shifted_layers = []
        for name, module in backbone.named_modules():
            if isinstance(module, TemporalShift):
                parent_name, _, child = name.rpartition('.')
                self.shifted_layers.append(
                    (backbone.get_submodule(parent_name), child, module,
                     StreamingShift(module)))
        self._buffer_shapes = {}
        self.reset()

    @classmethod
    def from_config(cls, config, checkpoint=None, device='cpu', **kwargs):
        """Build the recognizer as ``mmaction.apis.init_recognizer`` does
        (config path or ``Config``, checkpoint loaded, eval mode, ``.cfg``
        attached), then stream it; ``kwargs`` go to ``__init__``."""
        from mmaction.apis import init_recognizer

        from ..models.checkpoint_meta import check_checkpoint_config
        check_checkpoint_config(config, checkpoint)
        recognizer = init_recognizer(config, checkpoint, device=device)
        return cls(recognizer, **kwargs)

    @property
    def num_buffers(self):
        return len(self.shifted_layers)

    @contextlib.contextmanager
    def streaming_layers(self, buffers):
        """Swap each ``TemporalShift`` of the backbone for its streaming
        twin, reading ``buffers`` (``None``: zeros); restored on exit."""
        for (parent, child, _, streaming), buffer in zip(
                self.shifted_layers, buffers):
            streaming.history = buffer
            setattr(parent, child, streaming)
        try:
            yield
        finally:
            for parent, child, shift, streaming in self.shifted_layers:
                setattr(parent, child, shift)
                streaming.history = None

    def _run(self, frames, buffers):
        """Scores and new buffers of one frame per stream."""
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError('frames must be (B, 3, H, W): the next frame of '
                             f'each stream, got shape {tuple(frames.shape)}')
        backbone = self.recognizer.backbone
        with self.streaming_layers(buffers):
            feats = self.frame_forward(backbone, frames)
            new_buffers = [s.new_history for *_, s in self.shifted_layers]
            for *_, s in self.shifted_layers:
                s.new_history = None
        return self.frame_scores(feats), new_buffers

    def frame_scores(self, feats):
        """The head's pool + (dropout) + fc on each frame: (B, num_classes)."""
        head = self.recognizer.cls_head
        if getattr(head, 'avg_pool', None) is not None:
            feats = head.avg_pool(feats)
        feats = torch.flatten(feats, 1)
        if getattr(head, 'dropout', None) is not None:
            feats = head.dropout(feats)
        return head.fc_cls(feats)

    def zero_buffers(self, frames):
        """Buffers of a stream start (zeros, as the offline shift pads) for
        frames shaped like ``frames`` (B, 3, H, W); each holds only the
        ``C // shift_div`` channels that move, ``(B, C // shift_div, h, w)``,
        in the memory format of ``frames``."""
        key = tuple(frames.shape[1:])
        if key not in self._buffer_shapes:
            # One probe frame, in eval mode so BN statistics stay as they are.
            backbone = self.recognizer.backbone
            training = backbone.training
            backbone.eval()
            try:
                with torch.no_grad():
                    _, probe = self._run(frames[:1], [None] * self.num_buffers)
            finally:
                backbone.train(training)
            self._buffer_shapes[key] = [tuple(b.shape[1:]) for b in probe]
        # In the frames' memory format: a channels_last model's shifted
        # layers then concatenate channels_last tensors and stay so.
        layout = torch.channels_last if is_channels_last(frames) \
            else torch.contiguous_format
        return [torch.zeros((frames.shape[0], ) + shape, dtype=frames.dtype,
                            device=frames.device).contiguous(
                                memory_format=layout)
                for shape in self._buffer_shapes[key]]

    def forward(self, frames, *buffers):
        """Pure step: ``(scores (B, num_classes), *new_buffers)``, buffers in
        the order of ``zero_buffers``. Out-of-place ops only, no state kept."""
        if len(buffers) != self.num_buffers:
            raise ValueError(
                f'expected {self.num_buffers} buffers (one per shifted layer; '
                f'see zero_buffers), got {len(buffers)}')
        scores, new_buffers = self._run(frames, buffers)
        return (scores, *new_buffers)

    def reset(self):
        """Start new streams: history reads zeros, the running average empties."""
        self.buffers = None
        self.recent_scores = collections.deque(maxlen=self.average_last)
        self.smoothed_scores = None

    def step(self, frames):
        """Feed the next frame of each stream, ``(B, 3, H, W)``; returns its
        per-frame scores ``(B, num_classes)`` and updates ``smoothed_scores``
        (mean of the last ``average_last`` per-frame scores)."""
        if self.buffers and frames.shape[0] != self.buffers[0].shape[0]:
            raise ValueError(
                f'frames hold {frames.shape[0]} streams, the running streams '
                f'{self.buffers[0].shape[0]}: call reset() to start new ones')
        buffers = self.buffers or [None] * self.num_buffers  # None: zeros
        with torch.no_grad():
            scores, self.buffers = self._run(frames, buffers)
        self.recent_scores.append(scores)
        self.smoothed_scores = torch.stack(tuple(self.recent_scores)).mean(0)
        return scores


def check_streamable(recognizer):
    """The backbone's one-frame forward; ``ValueError`` saying why a
    recognizer cannot stream exactly."""
    backbone = getattr(recognizer, 'backbone', None)
    head = getattr(recognizer, 'cls_head', None)
    if backbone is None or head is None or not hasattr(head, 'fc_cls'):
        raise ValueError(
            'StreamingRecognizer needs a 2D recognizer with a backbone and a '
            f'cls_head with fc_cls (e.g. TSMHead), got {type(recognizer).__name__}')
    if getattr(recognizer, 'with_neck', False):
        raise ValueError('cannot stream a recognizer with a neck: it mixes '
                         'frames of the whole clip')
    frame_forward = getattr(type(backbone), 'forward_2d', None)
    if frame_forward is None:
        raise ValueError(
            'StreamingRecognizer streams the plugin\'s shifted backbones '
            '(tsm_plugin.TSMBackbone over any 2D network, ResNetTSM, '
            "MobileNetV2TSM, ...) with shift_mode='unidirectional', got "
            f'backbone {type(backbone).__module__}.{type(backbone).__name__}')
    if getattr(backbone, 'temporal_pool', False):
        raise ValueError('cannot stream a backbone with temporal_pool=True: it '
                         'pools each frame with the next one (the future)')
    for module in backbone.modules():
        for cls, reason in READS_OTHER_FRAMES:
            if isinstance(module, cls):
                raise ValueError(f'cannot stream a backbone with {reason}')
        if isinstance(module, MMActionTemporalShift) and not isinstance(
                module, TemporalShift):
            raise ValueError(
                "cannot stream MMAction2's own TemporalShift (it is "
                'bi-directional, the future too): use the plugin\'s backbone '
                "with shift_mode='unidirectional'")
    modes = {m.mode for m in backbone.modules() if isinstance(m, TemporalShift)}
    if modes - {'unidirectional'}:
        raise ValueError(
            f'cannot stream shift_mode={sorted(modes)[0]!r}: a bi-directional '
            'shift reads the next frame (the future); train with '
            "shift_mode='unidirectional' to stream")
    return frame_forward
