"""Resume without loss: MMAction2's stock tools/train.py, killed mid-training
and resumed with --resume, ends exactly where an uninterrupted run ends."""
import os
import re
import signal
import subprocess
import sys
import time

from runner_utils import (DEMO_CONFIG, TRAIN, assert_same_tensors,
                          latest_scalars, load_checkpoint, run, tiny_options,
                          tool_env)

ITERS_PER_EPOCH = 4  # 16 training videos, batch 4


def deterministic_options(data_root):
    # - persistent_workers=False: mmengine seeds each data-loader worker with
    #   seed + worker id when it starts; a persistent worker carries its random
    #   state (crops, frame offsets) from epoch to epoch, which a checkpoint
    #   does not hold, so a resumed run would draw other augmentations.
    # - dropout 0: dropout draws from the main process's torch generator,
    #   which a checkpoint does not hold either.
    return tiny_options(
        data_root, 'train_dataloader.persistent_workers=False',
        'val_dataloader.persistent_workers=False',
        'model.cls_head.dropout_ratio=0', 'randomness.seed=0',
        'randomness.deterministic=True', max_epochs=2)


def kill_when_logged(cmd, cwd, log_path, pattern, timeout=600):
    """Start ``cmd``; SIGKILL it (and its data-loader worker) as soon as its
    output matches ``pattern``."""
    with open(log_path, 'w') as log:
        proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=tool_env(),
                                stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not re.search(pattern, log_path.read_text()):
            assert proc.poll() is None, (
                f'exited {proc.returncode} before {pattern!r}:\n'
                f'{log_path.read_text()[-5000:]}')
            assert time.monotonic() < deadline, f'{pattern!r} never logged'
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_resume_after_kill_matches_uninterrupted_run(tiny_data, tmp_path):
    """Kill during epoch 2 (after its first iteration), resume from the
    epoch-1 checkpoint: weights and logged metrics equal an uninterrupted run.

    Exercised: mmengine's resume of model, optimizer (SGD momentum),
    parameter schedulers (iteration-based warm-up, cosine), message hub
    (the smoothed losses), loop counters and sampler epoch (the shuffle of
    epoch 2), all read back with torch's weights_only loading. The checkpoint
    is at an epoch boundary, as CheckpointHook(interval=1) writes it; the
    iterations of epoch 2 done before the kill are lost and redone.
    """
    options = deterministic_options(tiny_data)
    straight, broken = tmp_path / 'straight', tmp_path / 'broken'
    run([sys.executable, TRAIN, DEMO_CONFIG, '--work-dir', straight, *options],
        cwd=tmp_path)

    train = [sys.executable, TRAIN, DEMO_CONFIG, '--work-dir', broken,
             *options]
    kill_when_logged(train, tmp_path, tmp_path / 'killed.log',
                     rf'Epoch\(train\)\s*\[2\]\[\s*1/{ITERS_PER_EPOCH}\]')
    assert (broken / 'epoch_1.pth').exists()
    assert not (broken / 'epoch_2.pth').exists()  # killed within epoch 2

    out = run([*train, '--resume'], cwd=tmp_path)
    assert f'resumed epoch: 1, iter: {ITERS_PER_EPOCH}' in out

    final = {name: load_checkpoint(d / 'epoch_2.pth')
             for name, d in (('straight', straight), ('broken', broken))}
    assert_same_tensors(final['straight']['state_dict'],
                        final['broken']['state_dict'])
    assert final['broken']['meta']['iter'] == 2 * ITERS_PER_EPOCH

    # the resumed run logs epoch 2 only, exactly as the uninterrupted run did
    resumed = latest_scalars(broken)
    epoch2 = [r for r in latest_scalars(straight)
              if r['step'] > (ITERS_PER_EPOCH if 'loss' in r else 1)]
    assert resumed == epoch2
    assert any('acc/top1' in r for r in resumed)
