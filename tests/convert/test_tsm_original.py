"""``python -m tsm_plugin.convert tsm``: the original TSM repository's offline
checkpoints, built here with their real layout (``original_tsm.py``: the
authors' networks written from their description, ``module.`` keys in
``main.py``'s training-state dict, the published file names), convert one to
one into the plugin's model, which then computes what the original network
computes (float64, on clips other than the calibration clip)."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmaction.apis import init_recognizer
from mmengine.config import Config

from original_tsm import (TSN, make_tsm_mobilenet_v2, make_tsm_resnet,
                          randomise, save_pth_tar)
from tsm_plugin.models.checkpoint_meta import (CheckpointConfigMismatch,
                                        check_checkpoint_config)
from tsm_plugin.convert import ConversionError, convert
from tsm_plugin.convert.__main__ import main
from tsm_plugin.convert.tsm_original import CONFIG_DIR, parse_file_name

SIDE = 32  # R50's layer4 still gets 1x1
T = 8
# float64 forward of float32 weights: the plugin's model and the reference
# differ only in the order of float64 operations.
TOLERANCE = 1e-8
NL_NAME = ('TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e100_'
           'dense_nl.pth')


def clips(n, frames=T, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n * frames, 3, SIDE, SIDE, generator=gen)


def converted_model(out):
    """The written checkpoint as a user loads it: the config in its meta."""
    meta_cfg = torch.load(out, weights_only=True)['meta']['cfg']
    model = init_recognizer(Config.fromstring(meta_cfg, '.py'), out,
                            device='cpu')
    return model.double().eval()


def scores(model, x):
    """Clip logits: the plugin's backbone + head, or the original TSN."""
    with torch.no_grad():
        if hasattr(model, 'cls_head'):
            return model.cls_head(model.backbone(x))
        return model(x)


def relative_gap(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def reference_r50(tmp_path, name, num_classes=400, layers=(3, 4, 6, 3),
                  **options):
    """A random original TSN/TSM ResNet-50 (or ``layers``; BatchNorm
    statistics of one clip), saved as main.py saves it under ``name``."""
    base = make_tsm_resnet(layers, T, **options)
    frames = T // 2 if options.get('temporal_pool') else T
    net = randomise(TSN(base, num_classes, 2048, frames), (clips(1, seed=0),))
    return net, save_pth_tar(net, tmp_path / name, 'resnet50')


@pytest.fixture(scope='module')
def non_local_r50(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('nl')
    net, path = reference_r50(tmp, NL_NAME, non_local=True)
    out = str(tmp / 'converted.pth')
    convert('tsm', path, out)
    return net.double(), path, out


def test_r50_non_local_computes_what_the_original_computes(non_local_r50):
    net, _, out = non_local_r50
    x = clips(2).double()
    expected = scores(net, x)
    gap = relative_gap(scores(converted_model(out), x), expected)
    print(f'r50 non-local: relative gap {gap:.1e}')  # docs, with -s
    assert gap < TOLERANCE
    # The comparison sees the tensors that matter: moving one of them (the
    # non-local output conv's bias, which the converter folds into a
    # BatchNorm; a shifted conv; the classifier) moves the original's output
    # far beyond the tolerance.
    for key in ('base_model.layer3.2.nl.W.0.bias',
                'base_model.layer1.0.conv1.net.weight', 'new_fc.bias'):
        tensor = net.state_dict()[key]
        with torch.no_grad():
            tensor[0] += 0.5
            moved = relative_gap(scores(net, x), expected)
            tensor[0] -= 0.5
        assert moved > 1e4 * TOLERANCE, key


def test_r50_non_local_config_and_checkpoint_check(non_local_r50):
    """The meta config is the repository's config for the file; the plugin's
    checkpoint check accepts it and refuses another segment count."""
    _, _, out = non_local_r50
    config = osp.join(CONFIG_DIR,
                      'tsm-original_r50-nl_dense-1x1x8_kinetics400-rgb.py')
    meta = torch.load(out, weights_only=True)['meta']
    assert meta['converted_from'] == NL_NAME
    assert meta['source'] == 'tsm'
    assert Config.fromstring(meta['cfg'], '.py').model == \
        Config.fromfile(config).model
    check_checkpoint_config(config, out)  # no error
    init_recognizer(config, out, device='cpu')
    other = osp.join(CONFIG_DIR,
                     'tsm-original_r50_1x1x16_kinetics400-rgb.py')
    with pytest.raises(CheckpointConfigMismatch, match='num_segments=8'):
        check_checkpoint_config(other, out)


@pytest.mark.parametrize('variant',
                         ['block-tpool', 'tsn', 'mobilenetv2', 'r101-sthv2'])
def test_variants_compute_what_the_original_computes(variant, tmp_path):
    """Shift around whole blocks + temporal pool (no config of the repository
    has it: the config used is written beside the checkpoint), the TSN
    baseline (no shift; scored on 8 frames though trained on 5), TSM
    MobileNetV2 (dense, Kinetics-400), TSM R101 on SSV2 (every other block
    shifted)."""
    if variant == 'r101-sthv2':
        net, path = reference_r50(
            tmp_path, 'TSM_somethingv2_RGB_resnet101_shift8_blockres_avg_'
            'segment8_e45.pth', num_classes=174, layers=(3, 4, 23, 3))
        config = 'tsm-original_r101_1x1x8_sthv2-rgb.py'
    elif variant == 'mobilenetv2':
        name = ('TSM_kinetics_RGB_mobilenetv2_shift8_blockres_avg_segment8_'
                'e100_dense.pth')
        net = randomise(TSN(make_tsm_mobilenet_v2(400, T), 400, 1280, T),
                        (clips(1, seed=0), ))
        path = save_pth_tar(net, tmp_path / name, 'mobilenetv2')
        config = 'tsm-original_mobilenetv2_dense-1x1x8_kinetics400-rgb.py'
    elif variant == 'tsn':
        net, path = reference_r50(tmp_path,
                                  'TSM_kinetics_RGB_resnet50_avg_segment5_'
                                  'e50.pth', shift=False)
        config = 'tsn-original_r50_1x1x8_kinetics400-rgb.py'
    else:
        net, path = reference_r50(
            tmp_path, 'TSM_kinetics_RGB_resnet50_shift8_block_tpool_avg_'
            'segment8_e50.pth', place='block', temporal_pool=True)
        config = None
    out = str(tmp_path / 'converted.pth')
    convert('tsm', path, out)
    model = converted_model(out)
    x = clips(2).double()
    gap = relative_gap(scores(model, x), scores(net.double(), x))
    print(f'{variant}: relative gap {gap:.1e}')  # docs, with -s
    assert gap < TOLERANCE
    if config is None:
        written = str(tmp_path / 'converted.py')
        backbone = Config.fromfile(written).model.backbone
        assert (backbone.shift_place, backbone.temporal_pool) == ('block',
                                                                  True)
        check_checkpoint_config(written, out)
    else:
        cfg = torch.load(out, weights_only=True)['meta']['cfg']
        assert Config.fromstring(cfg, '.py').model == \
            Config.fromfile(osp.join(CONFIG_DIR, config)).model


def test_file_names_as_main_py_writes_them():
    assert parse_file_name('x/TSM_somethingv2_RGB_resnet101_shift8_blockres_'
                           'avg_segment8_e45.pth') == dict(
        dataset='somethingv2', modality='RGB', consensus='avg',
        arch='resnet101', shift_div=8,
        shift_place='blockres', temporal_pool=False, num_segments=8,
        dense=False, non_local=False)
    tsn = parse_file_name('TSM_kinetics_RGB_resnet50_avg_segment5_e50.pth')
    assert tsn['shift_div'] is None and tsn['num_segments'] == 5
    assert parse_file_name(NL_NAME)['non_local'] is True
    assert parse_file_name('my_model.pth') == {}


MOBILENET_NAME = ('TSM_kinetics_RGB_mobilenetv2_shift8_blockres_avg_segment8_'
                  'e100_dense.pth')


@pytest.fixture(scope='module')
def mobilenet_state():
    """An original TSM MobileNetV2's saved dict (the small model: the error
    checks build it once each)."""
    net = TSN(make_tsm_mobilenet_v2(400, T), 400, 1280, T)
    state = {f'module.{k}': v for k, v in net.state_dict().items()}
    return {'epoch': 100, 'arch': 'mobilenetv2', 'state_dict': state,
            'best_prec1': 69.5}


def save_changed(saved, tmp_path, change, name=MOBILENET_NAME):
    checkpoint = dict(saved, state_dict=dict(saved['state_dict']))
    change(checkpoint['state_dict'])
    torch.save(checkpoint, tmp_path / name)
    return str(tmp_path / name)


def test_left_over_missing_and_misshaped_tensors_are_named(mobilenet_state,
                                                           tmp_path):
    out = str(tmp_path / 'out.pth')
    # new_fc is the classifier: a second one is left over
    path = save_changed(mobilenet_state, tmp_path, lambda s: s.update(
        {'module.base_model.classifier.weight': torch.zeros(400, 1280)}))
    with pytest.raises(ConversionError, match=str(tmp_path) + r".*left unused"
                       r": \['base_model\.classifier\.weight'\]"):
        convert('tsm', path, out)
    gone = 'module.base_model.features.3.conv.3.weight'  # layer2.1's dw conv
    path = save_changed(mobilenet_state, tmp_path, lambda s: s.pop(gone))
    with pytest.raises(ConversionError, match=r'unfilled: '
                       r"\['backbone\.layer2\.1\.conv\.1\.conv\.weight'\]"):
        convert('tsm', path, out)
    path = save_changed(mobilenet_state, tmp_path, lambda s: s.update(
        {'module.new_fc.weight': torch.zeros(400, 640)}))
    with pytest.raises(ConversionError, match=r'cls_head\.fc_cls\.weight: '
                       r'\(400, 640\) in the source, \(400, 1280\)'):
        convert('tsm', path, out)
    assert not osp.exists(out)


def test_wrong_kind_of_file_gets_one_clear_error(mobilenet_state, tmp_path):
    out = str(tmp_path / 'out.pth')
    tada = tmp_path / 'tada2d.pyth'  # the official TAdaConv layout
    torch.save({'model_state': {'backbone.conv1.weight': torch.zeros(1)},
                'epoch': 1}, tada)
    with pytest.raises(ConversionError, match=str(tada) +
                       r'.*not an original TSM checkpoint'):
        convert('tsm', str(tada), out)
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    with pytest.raises(ConversionError, match=str(text) + ' cannot be read'):
        convert('tsm', str(text), out)
    with pytest.raises(ConversionError, match="online demo's state dict"):
        convert('tsm-online', save_changed(mobilenet_state, tmp_path,
                                           lambda s: None), out)
    flow = save_changed(mobilenet_state, tmp_path, lambda s: None,
                        name=MOBILENET_NAME.replace('RGB', 'Flow'))
    with pytest.raises(ConversionError, match="modality 'Flow'"):
        convert('tsm', flow, out)
    with pytest.raises(ConversionError, match='400 classes, --num-classes '
                       'says 174'):
        convert('tsm', save_changed(mobilenet_state, tmp_path, lambda s: None),
                out, num_classes=174)
    with pytest.raises(ConversionError, match='num_segments must be an int '
                       '>= 1, got 0'):
        convert('tsm', 'any.pth', out, num_segments=0)
    renamed = save_changed(mobilenet_state, tmp_path, lambda s: None,
                           name='tsm_nl.pth')
    with pytest.raises(ConversionError, match='--num-segments'):
        convert('tsm', renamed, out)
    assert not osp.exists(out)


def test_numpy_best_prec1_loads_without_unpickling_code(tmp_path):
    """main.py's dict may hold numpy scalars: allow-listed, not trusted."""
    from tsm_plugin.convert.common import load_source_file
    path = tmp_path / 'x.pth.tar'
    torch.save({'best_prec1': np.float64(71.2), 'state_dict': {}}, path)
    assert load_source_file(str(path), 'x')['best_prec1'] == 71.2
    # numpy 1 (the authors') names the scalar numpy.core.multiarray.scalar
    torch.save({'best_prec1': np.float64(71.2)}, path,
               _use_new_zipfile_serialization=False)
    pickled = path.read_bytes()
    assert b'numpy._core.multiarray' in pickled
    path.write_bytes(pickled.replace(b'numpy._core.multiarray',
                                     b'numpy.core.multiarray'))
    assert load_source_file(str(path), 'x')['best_prec1'] == 71.2

    class Payload:
        def __reduce__(self):
            return (print, ('code ran',))

    torch.save({'state_dict': {}, 'x': Payload()}, tmp_path / 'evil.pth')
    with pytest.raises(ConversionError, match='cannot be read'):
        load_source_file(str(tmp_path / 'evil.pth'), 'x')


def test_command_line(non_local_r50, tmp_path, capsys):
    _, path, _ = non_local_r50
    with pytest.raises(SystemExit, match='error: .*nothing.pth: no such file'):
        main(['tsm', str(tmp_path / 'nothing.pth'), str(tmp_path / 'o.pth')])
    with pytest.raises(SystemExit, match='error: .*--num-segments'):
        renamed = tmp_path / 'renamed.pth'
        renamed.write_bytes(open(path, 'rb').read())
        main(['tsm', str(renamed), str(tmp_path / 'o.pth')])


def test_reading_a_source_keeps_what_import_tsm_plugin_allows(tmp_path):
    """The converter's allow-list lives for one load: mmengine's checkpoints
    (numpy arrays in the message hub) still load afterwards."""
    import numpy as np

    from tsm_plugin.convert.common import load_source_file
    before = list(torch.serialization.get_safe_globals())
    path = tmp_path / 'source.pth'
    torch.save({'best_prec1': np.float64(0.5), 'state': np.arange(3)}, path)
    assert load_source_file(str(path), 'a checkpoint')['best_prec1'] == 0.5
    assert set(torch.serialization.get_safe_globals()) == set(before)
    mmengine_like = tmp_path / 'mmengine.pth'
    torch.save({'message_hub': np.zeros(2)}, mmengine_like)
    torch.load(mmengine_like, weights_only=True)
