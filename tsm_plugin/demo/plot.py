"""Read mmengine's logged scalars and plot training curves of several runs."""
import glob
import json
import os.path as osp
import re

# mmengine's text log: "Epoch(train)  [3][10/25]" (iteration 10 of 25)
TRAIN_LOG_LINE = re.compile(r'Epoch\(train\)\s*\[\d+\]\[\s*\d+/(\d+)\]')


def latest_run_dir(work_dir):
    """The newest ``<work_dir>/<timestamp>/`` directory mmengine logged into."""
    runs = sorted(d for d in glob.glob(osp.join(work_dir, '*_*'))
                  if osp.isdir(osp.join(d, 'vis_data')))
    if not runs:
        raise FileNotFoundError(f'no mmengine run (with vis_data/) in {work_dir}')
    return runs[-1]


def read_scalars(work_dir):
    """Split ``vis_data/scalars.json`` (one JSON dict per line) of the newest
    run into training records (with ``loss``) and validation records (with
    ``acc/top1``; their ``step`` is the epoch)."""
    path = osp.join(latest_run_dir(work_dir), 'vis_data', 'scalars.json')
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    train = [r for r in records if 'loss' in r]
    val = [r for r in records if 'acc/top1' in r]
    return train, val


def iters_per_epoch(work_dir):
    """Training iterations per epoch (the train dataloader's length), read
    from the newest run's text log; None if it logged none."""
    run_dir = latest_run_dir(work_dir)
    path = osp.join(run_dir, osp.basename(run_dir) + '.log')
    if osp.isfile(path):
        with open(path) as f:
            found = TRAIN_LOG_LINE.search(f.read())
        if found:
            return int(found.group(1))
    return None


def plot_curves(runs, out_file):
    """Plot training loss (per logged iteration) and validation top-1 (per
    epoch) of each run; save to ``out_file`` (PNG). ``runs``: ``{name:
    work_dir}`` or ``{name: dict(work_dir=..., best_epoch=..., test_top1=...)}``
    (as ``demo.run`` returns them): the best epoch is starred on its
    validation curve, the test top-1 of its checkpoint drawn beside it."""
    import matplotlib
    matplotlib.use('Agg')  # no display needed
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.5))
    per_epoch = set()
    for name, run in runs.items():
        run = run if isinstance(run, dict) else dict(work_dir=run)
        train, val = read_scalars(run['work_dir'])
        iters = iters_per_epoch(run['work_dir'])
        per_epoch.add(iters)
        ax_loss.plot([r['step'] for r in train], [r['loss'] for r in train],
                     label=name)
        line, = ax_acc.plot([r['step'] for r in val],
                            [100 * r['acc/top1'] for r in val], marker='o',
                            label=name)
        best = run.get('best_epoch')
        best_val = [100 * r['acc/top1'] for r in val if r['step'] == best]
        if best_val:
            ax_acc.plot([best], best_val, marker='*', markersize=16,
                        color=line.get_color(), linestyle='none')
        if best_val and run.get('test_top1') is not None:
            test = 100 * run['test_top1']
            ax_acc.plot([best], [test], marker='X', markersize=9,
                        color=line.get_color(), linestyle='none')
            ax_acc.annotate(f'test {test:.1f}%', (best, test),
                            textcoords='offset points', xytext=(6, -14),
                            color=line.get_color())
    ax_acc.axhline(50, color='gray', linestyle='--', label='chance')
    iters = per_epoch.pop() if len(per_epoch) == 1 else None
    xlabel = f'iteration ({iters} per epoch)' if iters else 'iteration'
    ax_loss.set(title='training loss', xlabel=xlabel, ylabel='loss')
    if iters:  # the same axis in epochs, on top
        ax_loss.secondary_xaxis('top', functions=(
            lambda i: i / iters, lambda e: e * iters)).set_xlabel('epoch')
    ax_acc.set(title='validation top-1 (star: best epoch, X: its test top-1)',
               xlabel='epoch', ylabel='accuracy (%)', ylim=(0, 105))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file
