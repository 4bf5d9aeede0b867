"""Read mmengine's logged scalars and plot training curves of several runs."""
import glob
import json
import os.path as osp


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


def plot_curves(work_dirs, out_file):
    """Plot training loss (per logged iteration) and validation top-1 (per
    epoch) for each ``{name: train work_dir}``; save to ``out_file`` (PNG)."""
    import matplotlib
    matplotlib.use('Agg')  # no display needed
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for name, work_dir in work_dirs.items():
        train, val = read_scalars(work_dir)
        ax_loss.plot([r['step'] for r in train], [r['loss'] for r in train],
                     label=name)
        ax_acc.plot([r['step'] for r in val],
                    [100 * r['acc/top1'] for r in val], marker='o', label=name)
    ax_acc.axhline(50, color='gray', linestyle='--', label='chance')
    ax_loss.set(title='training loss', xlabel='iteration', ylabel='loss')
    ax_acc.set(title='validation top-1', xlabel='epoch', ylabel='accuracy (%)',
               ylim=(0, 100))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file
