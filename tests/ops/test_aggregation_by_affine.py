"""TAda's aggregation in inference (``aggregation_by_affine.py``) against
the modules it replaces, ``norm(y) + pool_norm(AvgPool3d_t(y))``, and the
cases where it must not run."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tsm_plugin.ops.aggregation_by_affine import aggregation_by_affine
from tsm_plugin.ops.tadaconv import tada_aggregation

T = 4


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    pass


def random_bn(channels, affine=True):
    bn = nn.BatchNorm2d(channels, affine=affine).double()
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2)
    if affine:
        nn.init.normal_(bn.weight)
        nn.init.normal_(bn.bias)
    return bn.eval()


def reference(y, norm, pool_norm, t, kernel):
    """The modules themselves, the pool as ``nn.AvgPool3d`` on zero-padded
    clips (counted in the average, as TAda2D's)."""
    n = y.shape[0] // t
    clips = F.pad(y.view(n, t, *y.shape[1:]).transpose(1, 2),
                  (0, 0, 0, 0, kernel // 2, kernel // 2))
    pooled = nn.AvgPool3d((kernel, 1, 1), stride=1)(clips)
    pooled = pooled.transpose(1, 2).reshape(y.shape)
    return norm(y) + pool_norm(pooled)


@pytest.mark.parametrize('t,kernel', [(4, 3), (4, 5), (4, 1), (1, 3), (2, 7),
                                      (8, 3)])
@pytest.mark.parametrize('affine', [True, False])
def test_equals_the_modules(t, kernel, affine):
    torch.manual_seed(t * 10 + kernel)
    norm, pool_norm = random_bn(6, affine), random_bn(6, affine)
    y = torch.randn(2 * t, 6, 5, 3, dtype=torch.double)
    with torch.no_grad():
        out = aggregation_by_affine(y, norm, pool_norm, t, kernel)
        ref = reference(y, norm, pool_norm, t, kernel)
        torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
        # teeth: the neighbours count, within a clip only
        if kernel > 1 and t > 1:
            moved = y.clone()
            moved[0] += 1
            diff = (aggregation_by_affine(moved, norm, pool_norm, t, kernel)
                    - out).abs().amax((1, 2, 3))
            assert diff[1] > 0.1 and diff[t:].max() == 0


def test_channels_last_input_and_input_untouched():
    norm, pool_norm = random_bn(8), random_bn(8)
    y = torch.randn(2 * T, 8, 4, 4, dtype=torch.double).to(
        memory_format=torch.channels_last)
    before = y.clone()
    with torch.no_grad():
        out = aggregation_by_affine(y, norm, pool_norm, T, 3)
        torch.testing.assert_close(out, reference(y, norm, pool_norm, T, 3),
                                   rtol=1e-12, atol=1e-12)
    assert torch.equal(y, before)


def fused_ran(monkeypatch, y, norm, pool_norm):
    calls = []
    import tsm_plugin.ops.tadaconv as tadaconv
    real = tadaconv.aggregation_by_affine
    monkeypatch.setattr(tadaconv, 'aggregation_by_affine',
                        lambda *a: calls.append(1) or real(*a))
    out = tada_aggregation(y, norm, pool_norm, T, 3)
    return bool(calls), out


def test_runs_in_inference_only_and_gives_the_modules_result_otherwise(
        monkeypatch):
    y = torch.randn(2 * T, 4, 3, 3, dtype=torch.double)
    norm, pool_norm = random_bn(4), random_bn(4)
    ref = reference(y, norm, pool_norm, T, 3).detach()
    with torch.no_grad():
        ran, out = fused_ran(monkeypatch, y, norm, pool_norm)
    assert ran
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)

    # autograd on: the modules (a graph through in-place ops is not wanted)
    ran, out = fused_ran(monkeypatch, y.requires_grad_(), norm, pool_norm)
    assert not ran and out.requires_grad
    torch.testing.assert_close(out.detach(), ref)
    y = y.detach()

    with torch.no_grad():
        # training BN (batch statistics), a hook, a norm that is no BN
        norm.train()
        ran, out = fused_ran(monkeypatch, y, norm, pool_norm)
        assert not ran
        norm.eval()
        seen = []
        hook = pool_norm.register_forward_hook(lambda *a: seen.append(1))
        ran, _ = fused_ran(monkeypatch, y, norm, pool_norm)
        assert not ran and seen
        hook.remove()
        group = nn.GroupNorm(2, 4).double()
        ran, out = fused_ran(monkeypatch, y, group, pool_norm)
        assert not ran
        torch.testing.assert_close(out, reference(y, group, pool_norm, T, 3))
        stats_free = nn.BatchNorm2d(4, track_running_stats=False).double()
        ran, _ = fused_ran(monkeypatch, y, stats_free.eval(), pool_norm)
        assert not ran
