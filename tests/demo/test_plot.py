"""curves.png: the loss axis says how many iterations make an epoch; the
validation curve marks the best epoch and the test top-1 of its checkpoint."""
import json

import matplotlib.pyplot
import pytest

from tsm_plugin.demo.plot import iters_per_epoch, plot_curves

RUN = '20261202_150000'
# lines as mmengine 0.10's LogProcessor writes them (train, then val)
LOG = '''12/02 15:00:01 - mmengine - INFO - Epoch(train) [1][10/25]  lr: 1e-02
12/02 15:00:02 - mmengine - INFO - Epoch(train) [1][20/25]  lr: 1e-02
12/02 15:00:03 - mmengine - INFO - Epoch(val) [1][7/7]    acc/top1: 0.5
'''


def fake_run(work_dir, val_top1):
    vis = work_dir / RUN / 'vis_data'
    vis.mkdir(parents=True)
    (work_dir / RUN / f'{RUN}.log').write_text(LOG)
    records = [dict(loss=0.7 - 0.01 * i, step=10 * i, epoch=1 + i // 3)
               for i in range(1, 10)]
    records += [{'acc/top1': acc, 'step': epoch}
                for epoch, acc in enumerate(val_top1, 1)]
    (vis / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in records) + '\n')
    return str(work_dir)


def test_curves_name_iterations_per_epoch_and_mark_best_and_test(
        tmp_path, monkeypatch):
    work_dir = fake_run(tmp_path / 'tsm', [0.5, 0.9, 0.98, 0.96])
    assert iters_per_epoch(work_dir) == 25  # not the val loader's 7
    figures = []
    monkeypatch.setattr(matplotlib.pyplot, 'close', figures.append)
    out = plot_curves(dict(TSM=dict(work_dir=work_dir, best_epoch=3,
                                    test_top1=0.97)), str(tmp_path / 'c.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    ax_loss, ax_acc = figures[0].axes[:2]
    assert ax_loss.get_xlabel() == 'iteration (25 per epoch)'
    marks = {line.get_marker(): (list(line.get_xdata()),
                                 list(line.get_ydata()))
             for line in ax_acc.lines}
    assert marks['*'] == ([3], [pytest.approx(98.0)])  # the best epoch
    assert marks['X'] == ([3], [pytest.approx(97.0)])  # its test top-1
    assert [t.get_text() for t in ax_acc.texts] == ['test 97.0%']


def test_curves_of_work_dirs_alone_still_plot(tmp_path):
    work_dir = fake_run(tmp_path / 'tsn', [0.5, 0.5])
    plot_curves(dict(TSN=work_dir), str(tmp_path / 'c.png'))
    assert (tmp_path / 'c.png').stat().st_size > 0
