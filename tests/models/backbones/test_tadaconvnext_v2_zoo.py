"""TAdaConvNeXtV2's ImageNet start reads timm's and mmpretrain's own
ConvNeXt-T state dicts (their real key names): every 2D tensor of the
network is filled, only the classifier is left over."""
import pytest
import torch
from mmaction.registry import MODELS

pytestmark = pytest.mark.zoo


@pytest.mark.parametrize('library', ['timm', 'mmpretrain'])
def test_loads_the_library_convnext_tiny(tmp_path, library):
    if library == 'timm':
        import timm
        state = timm.create_model('convnext_tiny').state_dict()
        unused = ['head.fc.bias', 'head.fc.weight']
    else:
        from mmpretrain.models import ConvNeXt
        state = {'backbone.' + k: v
                 for k, v in ConvNeXt(arch='tiny').state_dict().items()}
        unused = []
    state = {k: torch.randn_like(v) if v.is_floating_point() else v
             for k, v in state.items()}
    path = tmp_path / 'convnext_tiny.pth'
    torch.save(state, path)
    model = MODELS.build(dict(type='tsm_plugin.TAdaConvNeXtV2', arch='tiny',
                              pretrained=str(path)))
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    from tsm_plugin.models.backbones.tadaconvnext_v2 import convnext_2d_to_v2
    mapped, left = convnext_2d_to_v2(state, fresh)
    assert left == unused
    two_d = [k for k in fresh if '.calibration.' not in k
             and '.pool_norm.' not in k]
    assert sorted(mapped) == sorted(two_d)
    loaded = model.state_dict()
    for key in two_d:
        assert torch.equal(loaded[key], mapped[key]), key
    stem = loaded['downsample_layers.0.0.weight']
    assert stem[:, :, 0].abs().max() == stem[:, :, 2].abs().max() == 0
