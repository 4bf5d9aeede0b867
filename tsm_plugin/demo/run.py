"""The demo: TSM and TAda2D see the direction of time, TSN does not.

``python -m tsm_plugin.demo.run --work-dir work_dirs/demo``

1. makes the demo videos (``make_data``: two classes, same frames, opposite
   order) in ``WORK_DIR/data``;
2. for TSM, TSN and TAda2D (``configs/demo/``: one ResNet-18, with the shift,
   without it, and with TAdaConvs instead): trains
   with MMAction2's stock ``tools/train.py`` into ``WORK_DIR/<model>``, then
   evaluates the best checkpoint (by val top-1) on the test split with the
   stock ``tools/test.py``; both run unmodified, as subprocesses of this Python,
   and load the plugin through the configs' ``custom_imports``;
3. prints one progress line per run (the stock tools' own output goes to
   ``WORK_DIR/<model>/train.log`` and ``WORK_DIR/<model>/test/test.log``),
   saves the loss / accuracy curves to ``WORK_DIR/curves.png`` and ends with
   the table of the accuracies (also in ``WORK_DIR/results.txt``).

``WORK_DIR/data`` and each model's ``WORK_DIR/<model>`` are replaced on each
run. ``--models TSM``, ``--epochs``, ``--num-train``, ``--seed``, ``--light``,
``--cfg-options KEY=VALUE ...`` (for both stock tools): see ``--help``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys
import time

from .make_data import LIGHT, make_dataset
from .plot import latest_run_dir, plot_curves, read_scalars

LOG_TAIL = 40  # lines of a failed tool's log shown

# configs/ lies beside the package in the source tree (editable install).
CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'demo')
MODELS = {  # name: (config, how its frames meet)
    'TSM': ('tsm_r18_demo.py', 'temporal shift'),
    'TSN': ('tsn_r18_demo.py', 'never'),
    'TAda2D': ('tada_r18_demo.py', 'TAdaConv'),
    # TSMBackbone on MMAction2's MobileNetV2 (x0.5): optional (--models)
    'TSM-MNv2': ('tsm_mobilenetv2_demo.py', 'temporal shift'),
    'TSN-MNv2': ('tsn_mobilenetv2_demo.py', 'never'),
}
DEFAULT_MODELS = ['TSM', 'TSN', 'TAda2D']


def mmaction_tool(name):
    """Path of MMAction2's stock script ``tools/<name>``, as pip installed it."""
    import importlib.util
    spec = importlib.util.find_spec('mmaction')  # without importing mmaction
    path = osp.join(osp.dirname(spec.origin), '.mim', 'tools', name)
    if not osp.isfile(path):
        raise FileNotFoundError(f'MMAction2 stock tool not found: {path}')
    return path


def data_root_options(data_root):
    """``--cfg-options`` pointing all three demo dataloaders at ``data_root``."""
    return [f'{loader}.dataset.data_root={data_root}'
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader')]


def run_tool(tool, args, log_file, label):
    """Run MMAction2's stock ``tool`` with ``args``, its output into
    ``log_file``; print one progress line (finished by the caller). On failure
    raise ``RuntimeError`` with the end of the log."""
    os.makedirs(osp.dirname(log_file), exist_ok=True)
    cmd = [sys.executable, tool, *args]
    print(f'{label:<12} stock tools/{osp.basename(tool)}, log {log_file} ... ',
          end='', flush=True)
    start = time.time()
    with open(log_file, 'w') as log:
        log.write(f'$ {shlex.join(cmd)}\n\n')
        log.flush()
        returncode = subprocess.run(cmd, stdout=log,
                                    stderr=subprocess.STDOUT).returncode
    if returncode:
        print('failed')
        with open(log_file) as log:
            tail = ''.join(log.readlines()[-LOG_TAIL:])
        raise RuntimeError(f'{label}: tools/{osp.basename(tool)} exited with '
                           f'{returncode}; the end of {log_file}:\n{tail}')
    return time.time() - start


def train(config, work_dir, cfg_options=(), label='train'):
    """Stock ``tools/train.py``, output in ``work_dir/train.log``; returns
    the best checkpoint's path and the seconds it took."""
    args = [config, '--work-dir', work_dir]
    if cfg_options:
        args += ['--cfg-options', *cfg_options]
    seconds = run_tool(mmaction_tool('train.py'), args,
                       osp.join(work_dir, 'train.log'), label)
    return best_checkpoint(work_dir), seconds


def best_checkpoint(work_dir):
    """The ``best_acc_top1_epoch_N.pth`` that mmengine's CheckpointHook kept."""
    found = glob.glob(osp.join(work_dir, 'best_acc_top1_epoch_*.pth'))
    if len(found) != 1:
        raise FileNotFoundError(
            f'expected one best_acc_top1 checkpoint in {work_dir}, got {found}')
    return found[0]


def test(config, checkpoint, work_dir, cfg_options=(), label='test'):
    """Stock ``tools/test.py``, output in ``work_dir/test.log``; returns its
    metrics (e.g. ``acc/top1``) and the seconds it took."""
    args = [config, checkpoint, '--work-dir', work_dir]
    if cfg_options:
        args += ['--cfg-options', *cfg_options]
    seconds = run_tool(mmaction_tool('test.py'), args,
                       osp.join(work_dir, 'test.log'), label)
    return read_test_metrics(work_dir), seconds


def read_test_metrics(work_dir):
    """Metrics mmengine's LoggerHook dumps after testing, to
    ``<work_dir>/<timestamp>/<timestamp>.json``."""
    run_dir = latest_run_dir(work_dir)
    with open(osp.join(run_dir, osp.basename(run_dir) + '.json')) as f:
        return json.load(f)


def format_table(results):
    """``results``: ``{name: dict(frames_meet, best_epoch, val_top1,
    test_top1)}``."""
    width = max([6] + [len(name) for name in results])
    lines = [f'{"model":<{width}}  frames meet by  best epoch  val top-1  '
             'test top-1',
             f'{"-" * width}  --------------  ----------  ---------  '
             '----------']
    for name, r in results.items():
        lines.append(f'{name:<{width}}  {r["frames_meet"]:<14}  '
                     f'{r["best_epoch"]:>10}  {100 * r["val_top1"]:>8.1f}%  '
                     f'{100 * r["test_top1"]:>9.1f}%')
    lines.append('(chance: 50.0%; the two classes hold the same frames in '
                 'opposite order)')
    return '\n'.join(lines)


def best_val_epoch(checkpoint):
    """``.../best_acc_top1_epoch_7.pth`` -> 7."""
    return int(osp.splitext(checkpoint)[0].rsplit('_', 1)[1])


def epoch_options(epochs):
    """``--cfg-options`` for ``epochs`` of training: the demo configs' cosine
    schedule (``param_scheduler[1]``, after one warm-up epoch) must end with
    training, or the epochs after its end would run at learning rate 0."""
    return [f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.1.T_max={max(epochs - 1, 1)}',
            f'param_scheduler.1.end={max(epochs, 2)}']


def run_model(name, work_dir, data_root, epochs=None, seed=0,
              cfg_options=()):
    """Train and test one model into ``work_dir/<name>``; return its figures.
    ``cfg_options`` (``KEY=VALUE`` strings) come after the demo's own."""
    config_name, frames_meet = MODELS[name]
    config = osp.join(CONFIG_DIR, config_name)
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'{config} not found: the demo configs live in the source tree; '
            'install tsm_plugin from a checkout with `pip install -e .`')
    model_dir = osp.join(work_dir, name.lower())
    # a fresh directory: an old best checkpoint would be ambiguous
    shutil.rmtree(model_dir, ignore_errors=True)
    options = data_root_options(data_root)
    train_options = options + [f'randomness.seed={seed}'] + (
        epoch_options(epochs) if epochs else []) + list(cfg_options)
    checkpoint, seconds = train(config, model_dir, train_options,
                                f'{name} train')
    best_epoch = best_val_epoch(checkpoint)
    _, val = read_scalars(model_dir)
    val_top1 = next(r['acc/top1'] for r in val if r['step'] == best_epoch)
    print(f'{seconds:.0f} s, best val top-1 {100 * val_top1:.1f}% '
          f'(epoch {best_epoch})', flush=True)
    metrics, seconds = test(config, checkpoint, osp.join(model_dir, 'test'),
                            options + list(cfg_options), f'{name} test')
    print(f'{seconds:.0f} s, test top-1 {100 * metrics["acc/top1"]:.1f}%',
          flush=True)
    return dict(frames_meet=frames_meet, best_epoch=best_epoch, val_top1=val_top1,
                test_top1=metrics['acc/top1'], checkpoint=checkpoint,
                work_dir=model_dir)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train and test TSM, TSN and TAda2D on the demo data '
        "with MMAction2's stock tools/train.py and tools/test.py.")
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--num-train', type=int, default=400,
                        help='training videos (even)')
    parser.add_argument('--num-val', type=int, default=100,
                        help='validation and test videos each (even)')
    parser.add_argument('--epochs', type=int, default=None,
                        help="training epochs (default: the config's); the "
                        'cosine schedule is stretched or cut to end with them')
    parser.add_argument('--seed', type=int, default=0,
                        help='seeds the data and the training')
    parser.add_argument('--light', type=float, default=LIGHT,
                        help='how unevenly the demo scenes are lit (0: evenly, '
                        'which hides the direction from TAda2D; see README)')
    parser.add_argument('--models', nargs='+', default=DEFAULT_MODELS,
                        choices=list(MODELS))
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
        help='passed on to the stock tools/train.py and tools/test.py, after '
        "the demo's own (which point the three dataloaders at "
        'WORK_DIR/data and set the seed and epochs)')
    args = parser.parse_args(argv)

    start = time.time()
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.join(work_dir, 'data')
    shutil.rmtree(data_root, ignore_errors=True)
    os.makedirs(data_root)
    make_dataset(data_root, num_train=args.num_train, num_val=args.num_val,
                 seed=args.seed, light=args.light)
    print(f'demo data: {args.num_train} train, {args.num_val} val, '
          f'{args.num_val} test videos in {data_root}', flush=True)

    results = {name: run_model(name, work_dir, data_root, args.epochs,
                               args.seed, args.cfg_options)
               for name in args.models}
    curves = plot_curves(results,
                         osp.join(work_dir, 'curves.png'))
    summary = format_table(results)
    with open(osp.join(work_dir, 'results.txt'), 'w') as f:
        f.write(summary + '\n')
    print(f'curves: {curves}; table: {osp.join(work_dir, "results.txt")}; '
          f'wall time {time.time() - start:.0f} s\n')
    print(summary)
    return results


if __name__ == '__main__':
    main()
