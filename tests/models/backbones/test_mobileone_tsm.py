"""MobileOneTSM: MMAction2's keys and outputs (also re-parameterised),
shift_mode, clips kept apart, clear errors. Needs mmpretrain (zoo venv).

References are independent of the plugin's shift: MMAction2's own
``MobileOneTSM`` (its shift), and the model run on each clip alone. Weights are
woken (``live_weights.wake``) so that every block passes the signal on, and
float64: through MobileOne-S4's 42 blocks on woken weights, float32 rounding
grows to a few percent (MMAction2's own model before vs after
``switch_to_deploy``), so "unchanged" is tested where rounding is 1e-16.
"""
import pytest
import torch
from live_weights import spread, wake
from mmaction.models.backbones.mobileone_tsm import \
    MobileOneTSM as MMActionMobileOneTSM
from mmaction.registry import MODELS
from mmengine.runner.checkpoint import save_checkpoint
from mmpretrain.models import MobileOne
from tada_backbone_checks import one_thread  # noqa: F401 (autouse)
from torch import nn

import tsm_plugin
from tsm_plugin.ops import TemporalShift

pytestmark = pytest.mark.zoo

T = 8
# Small but complete: multi-branch blocks (re-parameterised), SE in stage 4.
TINY_ARCH = dict(num_blocks=[1, 2, 1, 1], width_factor=[0.5, 0.5, 0.5, 0.5],
                 num_conv_branches=[2, 2, 2, 2], num_se_blocks=[0, 0, 0, 1])
SIDE = 32
TOL = 1e-9  # of the output's scale, float64


def build(**kwargs):
    kwargs.setdefault('arch', TINY_ARCH)
    kwargs.setdefault('num_segments', T)
    return MODELS.build(dict(type='tsm_plugin.MobileOneTSM', **kwargs)).double()


def frames(clips=1, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(clips * T, 3, SIDE, SIDE, generator=gen,
                       dtype=torch.float64)


def assert_same(actual, expected):
    scale = expected.abs().max().item()
    torch.testing.assert_close(actual, expected, rtol=0, atol=TOL * scale)


def time_reversed(x):
    return x.view(-1, T, *x.shape[1:]).flip(1).reshape(x.shape)


def run(model, x):
    with torch.no_grad():
        return model(x)


def test_registry_entry_builds_the_class():
    model = build()
    assert type(model) is tsm_plugin.MobileOneTSM
    assert issubclass(tsm_plugin.MobileOneTSM, MMActionMobileOneTSM)
    assert model.train() is model  # MMAction2's returns None
    assert model.eval() is model and not model.training


@pytest.mark.parametrize('deploy', [False, True])
def test_s4_has_mmaction_state_dict_keys_and_shapes(deploy):
    """The configs' MobileOne-S4, as built and deployed: MMAction2's zoo
    checkpoints fit strictly (outputs: the tests below, on a smaller arch)."""
    theirs = MMActionMobileOneTSM('s4', num_segments=16, deploy=deploy)
    ours = build(arch='s4', num_segments=16, deploy=deploy)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in theirs.state_dict().items()}
    assert sum(isinstance(m, TemporalShift) for m in ours.modules()) == \
        2 * sum([2, 8, 10, 1])  # every block but the RGB stem's
    # the table counts a squeeze-excite block's input, not its SE's
    table = ours.placement_table().splitlines()
    assert table[-1] == '42 shifted modules'
    assert [r.split()[:3] for r in table if r.startswith('stage4.1 ')] == \
        [['stage4.1', 'MobileOneBlock', '896']]


def test_mmaction_state_dict_loads_strictly_same_outputs_also_deployed():
    x = frames()
    theirs = wake(MMActionMobileOneTSM(TINY_ARCH, num_segments=T).double(), x)
    ours = build()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval()
    expected = run(theirs, x)
    assert_same(run(ours, x), expected)
    # the shift matters: time-reversed clips give far other outputs
    reversed_out = time_reversed(run(ours, time_reversed(x)))
    assert spread(reversed_out, expected) > 1e-2 * expected.abs().max()

    theirs.switch_to_deploy()
    assert ours.switch_to_deploy() is ours
    assert not any(hasattr(m, 'branch_conv_list') for m in ours.modules())
    assert sum(isinstance(m, TemporalShift) for m in ours.modules()) == \
        2 * sum(TINY_ARCH['num_blocks'])  # shifts stay in front of blocks
    assert_same(run(ours, x), expected)
    assert_same(run(ours, x), run(theirs, x))
    assert_same(run(ours, time_reversed(x)), run(theirs, time_reversed(x)))


def test_deploy_keys_and_outputs_match_a_model_built_deployed():
    """A re-parameterised state dict loads strictly into MMAction2's and our
    ``deploy=True`` models (the _deploy_ config's), with the same outputs."""
    x = frames()
    ours = wake(build(), x)
    before = run(ours, x)
    deployed = ours.switch_to_deploy().state_dict()
    theirs = MMActionMobileOneTSM(TINY_ARCH, num_segments=T, deploy=True)
    theirs.double().load_state_dict(deployed, strict=True)
    built = build(deploy=True).eval()
    built.load_state_dict(deployed, strict=True)
    assert_same(run(built, x), before)
    theirs.eval()  # returns None
    assert_same(run(built, x), run(theirs, x))


@pytest.mark.parametrize('deploy', [False, True])
def test_unidirectional_never_reads_later_frames(deploy):
    x = frames()
    model = wake(build(shift_mode='unidirectional'), x)
    if deploy:
        model.switch_to_deploy()
    changed = x.clone()
    changed[5:] = torch.randn_like(changed[5:])  # frames 5..7 of the clip
    out, out_changed = run(model, x), run(model, changed)
    assert torch.equal(out[:5], out_changed[:5])
    assert spread(out[5:], out_changed[5:]) > 1e-2 * out.abs().max()
    # bidirectional: frame 4 reads frame 5
    bidir = wake(build(), x)
    assert spread(run(bidir, x)[4], run(bidir, changed)[4]) > 0


def test_clips_stay_apart():
    x = frames(clips=3)
    model = wake(build(), x)
    out = run(model, x)
    for clip in range(3):
        alone = run(model, x[clip * T:(clip + 1) * T])
        assert_same(out[clip * T:(clip + 1) * T], alone)


def test_2d_checkpoint_loads_under_the_shifted_names(tmp_path):
    """pretrained2d with a Pretrained init_cfg (the configs' way): a 2D
    MobileOne checkpoint (keys ``backbone.*``) loads into every block."""
    mobileone = wake(MobileOne(TINY_ARCH).double(), frames())
    path = str(tmp_path / 'mobileone.pth')
    save_checkpoint({'state_dict': {f'backbone.{k}': v for k, v in
                                    mobileone.state_dict().items()}}, path)
    model = build(init_cfg=dict(type='Pretrained', checkpoint=path,
                                prefix='backbone'))
    model.init_weights()
    ours = model.state_dict()
    for key, value in mobileone.state_dict().items():
        parts = key.split('.')
        at = 1 if parts[0] == 'stage0' else 2
        assert torch.equal(ours['.'.join(parts[:at] + ['net'] + parts[at:])],
                           value), key
    # the shift sees no other frames: without it, the 2D net's outputs
    flat = build(init_cfg=dict(type='Pretrained', checkpoint=path,
                               prefix='backbone'), is_shift=False)
    flat.init_weights()
    assert_same(run(flat.eval(), frames()), run(mobileone, frames())[0])


def test_own_init_without_a_checkpoint():
    """pretrained2d=True and no Pretrained init_cfg: MobileOne's own init
    (Kaiming; MMAction2's MobileOneTSM crashes there)."""
    with pytest.raises(AttributeError):
        MMActionMobileOneTSM(TINY_ARCH).init_weights()
    model = build()
    conv = model.stage1[0].net.branch_conv_list[0].conv
    before = conv.weight.detach().clone()
    model.init_weights()
    assert not torch.equal(conv.weight, before)


@pytest.mark.parametrize('kwargs, match', [
    (dict(shift_mode='forward'), 'shift_mode'),
    (dict(num_segments=0), 'num_segments'),
    (dict(shift_div=0), 'shift_div'),
    (dict(shift_div=64), 'shift_div=64'),  # stage 1 has 32 channels
    (dict(arch='s9'), 'arch'),
    (dict(out_indices=(2, 3)), 'out_indices'),
    (dict(frozen_stages=5), 'frozen_stages'),
])
def test_bad_arguments_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(**kwargs)


def test_input_without_whole_clips_refused():
    model = build()
    with pytest.raises(ValueError, match='num_segments=8'):
        model(torch.randn(12, 3, SIDE, SIDE))
