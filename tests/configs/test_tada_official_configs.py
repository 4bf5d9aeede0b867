"""configs/tada_official: the authors' test-time preprocessing and views for
each converted TAdaConv model, and its class names (the common sweeps,
test_configs.py and test_inference_api.py, build and run each one)."""
import pytest

from cfg_helpers import CONFIG_DIR, load, sampler_of

OFFICIAL_DIR = CONFIG_DIR / 'tada_official'
# name: (arch, num_classes, test sampler, (num_clips, clip_len, interval),
#        crop) from the official configs and MODEL_ZOO.md (clips x crops)
EXPECTED = {
    'tada2d-r50_official_k400-8x8x1.py':
        (50, 400, 'SampleFrames', (10, 8, 8), 'ThreeCrop'),
    'tada2d-r50_official_k400-16x5x1.py':
        (50, 400, 'SampleFrames', (10, 16, 5), 'ThreeCrop'),
    'tada2d-r50_official_sthv2-1x1x8.py':
        (50, 174, 'SampleFrames', (8, 1, 1), 'ThreeCrop'),
    'tada2d-r50_official_sthv2-1x1x16.py':
        (50, 174, 'SampleFrames', (16, 1, 1), 'ThreeCrop'),
    'tadaconvnextv2-t_official_k400-16x5x1.py':
        ('tiny', 400, 'SampleFrames', (4, 16, 5), 'ThreeCrop'),
    'tadaconvnextv2-s_official_k400-16x5x1.py':
        ('small', 400, 'SampleFrames', (4, 16, 5), 'ThreeCrop'),
    'tadaconvnextv2-b_official_k400-16x5x1.py':
        ('base', 400, 'SampleFrames', (4, 16, 5), 'ThreeCrop'),
    'tadaconvnextv2-t_official_sthv2-u16.py':
        ('tiny', 174, 'UniformSample', (2, 16, None), 'ThreeCrop'),
    'tadaconvnextv2-s_official_sthv2-u16.py':
        ('small', 174, 'UniformSample', (2, 16, None), 'ThreeCrop'),
    'tadaconvnextv2-b_official_sthv2-u16.py':
        ('base', 174, 'UniformSample', (2, 16, None), 'ThreeCrop'),
}


def test_every_config_is_listed_here():
    assert sorted(p.name for p in OFFICIAL_DIR.glob('*.py')) == \
        sorted(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_authors_test_time_preprocessing(name):
    cfg = load(OFFICIAL_DIR / name)
    arch, classes, sampler_type, views, crop = EXPECTED[name]
    backbone = cfg.model.backbone
    assert backbone.get('depth', backbone.get('arch')) == arch
    assert backbone.pretrained is None  # the converted file holds it all
    assert cfg.model.cls_head.num_classes == classes
    # RGB (decord), 0-1 pixels normalised by mean 0.45, std 0.225
    pre = cfg.model.data_preprocessor
    assert pre.mean == [0.45 * 255] * 3 and pre.std == [0.225 * 255] * 3
    assert not pre.get('to_rgb', False)
    pipeline = cfg.test_dataloader.dataset.pipeline
    sampler = sampler_of(pipeline)
    assert sampler.type == sampler_type and sampler.test_mode
    assert (sampler.num_clips, sampler.clip_len,
            sampler.get('frame_interval')) == views
    steps = {s.type: s for s in pipeline}
    assert steps['Resize'].scale == (-1, 256)
    assert steps[crop].crop_size == 256
    assert sampler.get('twice_sample', False) == (
        arch == 50 and classes == 174)  # TAda2D SSV2: 2 samplings
    labels = (CONFIG_DIR.parent / cfg.label_file).read_text().splitlines()
    assert len(labels) == len(set(labels)) == classes


def test_sthv2_label_order_matches_the_flip_map():
    """The left/right classes that flipping swaps are left/right names."""
    cfg = load(OFFICIAL_DIR / 'tadaconvnextv2-t_official_sthv2-u16.py')
    labels = (CONFIG_DIR.parent / cfg.label_file).read_text().splitlines()
    for a, b in cfg.sthv2_flip_label_map.items():
        assert labels[a].replace('left', 'X').replace('right', 'left') \
            .replace('X', 'right') == labels[b]
