"""tsm_plugin.PackActionInputs: MMAction2's, whose samples always keep the
clip layout (num_clips, clip_len) that the plugin's models check; configs get
it for `type='PackActionInputs'` too."""
import numpy as np
import pytest
from mmaction.datasets.transforms import PackActionInputs as StockPack
from mmaction.registry import TRANSFORMS
from mmengine.registry import init_default_scope

import tsm_plugin  # noqa: F401  (registers tsm_plugin.PackActionInputs)


def results():
    """What SampleFrames + DecordDecode + FormatShape leave: 2 x 4 frames."""
    return dict(imgs=np.zeros((8, 3, 4, 4), np.float32), label=1,
                num_clips=4, clip_len=2, img_shape=(4, 4), frame_inds=np.arange(8))


@pytest.mark.parametrize('name', ['PackActionInputs',
                                  'tsm_plugin.PackActionInputs'])
@pytest.mark.parametrize('meta_keys', [None, ('img_shape', ), ()])
def test_keeps_num_clips_and_clip_len_whatever_meta_keys(name, meta_keys):
    init_default_scope('mmaction')  # as the configs' default_scope
    args = {} if meta_keys is None else dict(meta_keys=meta_keys)
    pack = TRANSFORMS.build(dict(type=name, **args))
    assert type(pack) is tsm_plugin.PackActionInputs
    assert isinstance(pack, StockPack)
    packed = pack(results())
    meta = packed['data_samples'].metainfo
    assert (meta['num_clips'], meta['clip_len']) == (4, 2)
    # everything else as MMAction2's
    stock = StockPack(**args)(results())
    assert packed['inputs'].equal(stock['inputs'])
    assert packed['data_samples'].gt_label == stock['data_samples'].gt_label
    assert {k: v for k, v in meta.items() if k not in ('num_clips', 'clip_len')} \
        == stock['data_samples'].metainfo
    # MMAction2's drops them unless meta_keys name them
    assert 'num_clips' not in stock['data_samples'].metainfo


def test_keys_are_not_repeated():
    pack = tsm_plugin.PackActionInputs(meta_keys=('clip_len', 'img_shape'))
    assert pack.meta_keys == ('clip_len', 'img_shape', 'num_clips')
