"""The README and docs/ keep telling the truth: every command of their command
blocks runs as written, on the demo data, or is listed below as deliberately
not run, with the reason.

A command block is a fenced block labelled bash/sh/shell/console, or a text
block whose lines start with a ``$`` prompt (a transcript: its ``$`` lines
are the commands, the rest is output). Every markdown file of README.md and
docs/ is read, so a new document is checked without a line here; a command
that cannot run must be listed in ``NOT_RUN`` (or ``ZOO``), and a listed
command that no document holds any more fails the test too.

Each document's commands run in order in one working folder whose
``work_dirs/`` holds what the docs assume is there (the demo data, a demo
and an online-demo checkpoint: small, from the suite's own fixtures), and
shell variables carry over from one command to the next, as in a terminal.
Shell words are expanded by bash (variables, ``$(...)``, globs); a
``python -m MODULE`` or ``python FILE.py`` command then runs in this process
(``runpy``, as ``python`` would run it: ``__main__``, ``sys.argv``), which
saves an interpreter start and the imports per command; other commands run
in bash. Commands not run are still checked for the files and modules they
name.
"""
import glob
import os
import re
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from int8_assets import assets, base

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted(['README.md'] + [str(p.relative_to(REPO)) for p in
                               (REPO / 'docs').rglob('*.md')])
SHELL_LANGUAGES = {'bash', 'sh', 'shell', 'console', 'zsh'}
PROMPT = '$ '
# An unlabelled block whose first line starts so is a command block too.
COMMAND_START = re.compile(r'^(python|\.venv|make|pip|bash|torchrun|cd|'
                           r'source|[A-Z_]+=)')

TRAINING = ('a long training (stock tools/train.py on the full demo data); '
            'tests/runners and tests/demo run the same tool on a tiny set')
# (document, command) -> why it is not run. The command as in the document,
# continuation lines joined by one space.
AUTHORS_FILE = ("the authors' checkpoint (no download here); tests/convert "
                'converts synthetic files with the same layout')
ON_CONVERTED = "runs on the converted authors' checkpoint (none here)"
CAMERA_ON_CONVERTED = "a camera (0) and the converted authors' checkpoint"
NOT_RUN = {
    ('README.md', 'python -m tsm_plugin.convert tadaconv '
     'checkpoint_epoch_00100.pyth tada2d.pth'): AUTHORS_FILE,
    ('README.md', 'python -m tsm_plugin.convert tsm-online '
     'mobilenetv2_jester_online.pth.tar work_dirs/jester_online.pth'):
        AUTHORS_FILE,
    ('README.md', 'python -m tsm_plugin.online configs/tsm_original/'
     'tsm-online_mobilenetv2_jester-rgb.py work_dirs/jester_online.pth 0 '
     '--frame-step 2 --average-last 12 --label-map '
     'configs/class_names/jester.txt'): CAMERA_ON_CONVERTED,
    ('docs/converted_checkpoints.md', 'python -m tsm_plugin.convert tsm '
     'TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e50.pth '
     'work_dirs/converted/tsm_r50_k400_8f.pth'): AUTHORS_FILE,
    ('docs/converted_checkpoints.md', 'python $TOOLS/test.py configs/'
     'tsm_original/tsm-original_r50_1x1x8_kinetics400-rgb.py '
     'work_dirs/converted/tsm_r50_k400_8f.pth'): ON_CONVERTED,
    ('docs/converted_checkpoints.md', 'python -m pytest -s '
     "tests/convert/test_tsm_original.py -k computes | grep 'relative gap'"):
        'runs part of the test suite itself',
    ('docs/converted_checkpoints.md', 'python -m tsm_plugin.convert '
     'tsm-online mobilenetv2_jester_online.pth.tar '
     'work_dirs/converted/jester_online.pth'): AUTHORS_FILE,
    ('docs/converted_checkpoints.md', 'python -m tsm_plugin.online '
     'configs/tsm_original/tsm-online_mobilenetv2_jester-rgb.py '
     'work_dirs/converted/jester_online.pth 0 --frame-step 2 '
     '--average-last 12 --label-map configs/class_names/jester.txt'):
        CAMERA_ON_CONVERTED,
    ('docs/converted_checkpoints.md', 'python -m tsm_plugin.deploy.export '
     'configs/tsm_original/tsm-online_mobilenetv2_jester-rgb.py '
     'work_dirs/converted/jester_online.pth work_dirs/jester_online.onnx '
     '--online'): ON_CONVERTED + '; tests/convert/test_tsm_online.py '
    'exports a converted synthetic one',
    ('docs/converted_checkpoints.md', 'python $TOOLS/test.py configs/'
     'tsm_original/tsm-online_mobilenetv2_jester-rgb.py '
     '/tmp/jt/jester_online.pth --work-dir /tmp/jt/work --cfg-options '
     'test_dataloader.dataset.ann_file=/tmp/jt/val.txt '
     'test_dataloader.dataset.data_prefix.video=/tmp/jt/videos '
     'test_dataloader.num_workers=0 test_dataloader.persistent_workers=False'):
        'a record of a run by hand on files made for it in /tmp/jt',
    ('docs/converted_tadaconv.md', 'python -m tsm_plugin.convert tadaconv '
     'checkpoint_epoch_00100.pyth tada2d_k400_8x8.pth'): AUTHORS_FILE,
    ('docs/converted_tadaconv.md', 'python $MMACTION/.mim/tools/test.py '
     'configs/tada_official/tada2d-r50_official_k400-8x8x1.py '
     'tada2d_k400_8x8.pth'): ON_CONVERTED,
    ('docs/converted_tadaconv.md', 'python $MMACTION/.mim/tools/test.py '
     'configs/tada_official/<config>.py OUT.pth'):
        'a template (<...> placeholders)',
    ('docs/converted_tadaconv.md', 'python -m tsm_plugin.convert tadaconv '
     'synthetic_tada2d_k400.pyth tada2d.pth'):
        'a record of a run by hand on a file written by '
        'tests/official_tadaconv.py (tests/convert converts it)',
    ('docs/converted_tadaconv.md', 'python $MMACTION/.mim/tools/test.py '
     'configs/tada_official/tada2d-r50_official_k400-8x8x1.py tada2d.pth '
     '--cfg-options test_dataloader.dataset.ann_file=ann.txt '
     'test_dataloader.dataset.data_prefix.video=. '
     'test_dataloader.num_workers=0 test_dataloader.persistent_workers=False'):
        'a record of a run by hand (30 views at 256 px: minutes)',
    ('docs/converted_tadaconv.md', 'PYTHONPATH=$PWD .venv/bin/python -m '
     'pytest -q tests/convert/test_tadaconv_convert.py '
     'tests/ops/test_tadaconv_v2.py '
     'tests/models/backbones/test_tadaconvnext_v2.py '
     'tests/configs/test_tada_official_configs.py'):
        'runs part of the test suite itself',
    ('docs/converted_tadaconv.md', 'PYTHONPATH=$PWD .venv-zoo/bin/python -m '
     'pytest -q -m zoo tests/models/backbones/test_tadaconvnext_v2_zoo.py'):
        'runs part of the test suite itself',
    ('README.md', 'make demo'): 'trains three models (5 min idle); '
    'tests/demo/test_demo_learns.py runs the same demo, as make demo does',
    ('README.md', 'make test'): 'the test suite itself',
    ('README.md', 'source .venv/bin/activate'):
        'sets up the shell; these tests run in that venv',
    ('README.md', 'pip install torch==2.13.0'):
        'installs packages (the Makefile does, in CI)',
    ('README.md', 'pip install -e . --no-build-isolation'):
        'installs packages (the Makefile does, in CI)',
    ('README.md', 'python $TOOLS/train.py configs/demo/tsm_r18_demo.py '
     '--work-dir work_dirs/tsm --cfg-options train_dataloader.dataset.'
     'data_root=$D val_dataloader.dataset.data_root=$D test_dataloader.'
     'dataset.data_root=$D'): TRAINING,
    ('README.md', 'python -m tsm_plugin.demo.run --models TAda2D --work-dir '
     'work_dirs/tada'): TRAINING,
    ('README.md', 'python benchmarks/bench_shift.py --quick --out '
     'work_dirs/bench'): 'a benchmark (minutes); tests/benchmarks runs each '
    'script on tiny sizes',
    ('README.md', 'python benchmarks/bench_tada.py --out benchmarks/results '
     '--size 224 --reps 21 --train-reps 11 --op-reps 21'):
        'a benchmark (an hour on 2 cores); tests/benchmarks runs it tiny',
    ('docs/backbones.md', 'python -c "import runpy, sys, tsm_plugin; '
     'sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name=\''
     '__main__\')" "$(python -c \'import mmaction, os; print(os.path.dirname'
     '(mmaction.__file__))\')/.mim/tools/convert/reparameterize_model.py" '
     'configs/tsm/tsm_imagenet-pretrained-mobileone-s4_8xb16-1x1x16-50e_'
     'kinetics400-rgb.py CKPT DEPLOY.pth'):
        'CKPT stands for a MobileOne-S4 checkpoint (none here); '
        'tests/configs/test_mobileone_configs.py runs this conversion',
    ('docs/backbones.md', 'python -m tsm_plugin.demo.run --work-dir '
     'work_dirs/demo_mnv2 --models TSM-MNv2 TSN-MNv2'): TRAINING,
    ('docs/backbones.md', '.venv/bin/python -m tsm_plugin.tools.placement '
     'configs/tsm/tsm_imagenet-pretrained-timm-mobilenetv3-large-100_8xb16-'
     '1x1x8-50e_kinetics400-rgb.py'): 'timm downloads the ImageNet weights '
    'when it builds the model (pretrained=True); no internet here. '
    'tests/configs/test_backbone_configs.py builds this config offline',
    ('docs/configs.md', 'python <site-packages>/mmaction/.mim/tools/train.py '
     'configs/tsm/<config>.py'): 'a template (<...> placeholders)',
    ('docs/configs.md', 'python <site-packages>/mmaction/.mim/tools/test.py '
     'configs/tsm/<config>.py <checkpoint>'): 'a template (<...> placeholders)',
    ('docs/configs.md', 'torchrun --nproc_per_node 8 $TOOLS/train.py $CONFIG '
     '--launcher pytorch --work-dir work_dirs/tsm'): '8 GPUs',
    ('docs/configs.md', 'bash $TOOLS/dist_train.sh $CONFIG 8 --work-dir '
     'work_dirs/tsm'): '8 GPUs',
    ('docs/configs.md', 'torchrun --nproc_per_node 2 $TOOLS/train.py $CONFIG '
     '--launcher pytorch --cfg-options env_cfg.dist_cfg.backend=gloo'):
        TRAINING + ' (tests/runners/test_distributed.py: this command)',
    ('docs/configs.md', "pip install --no-deps --target ~/.mim-pkgs "
     "openmim==0.3.9 click tabulate model-index ordered-set markdown requests "
     "urllib3 idna certifi charset-normalizer pandas python-dateutil six "
     "'setuptools>=77,<81'"): 'installs packages; tests/runners/test_mim.py '
    'installs openmim the same way',
    ('docs/configs.md', 'PYTHONPATH=~/.mim-pkgs python -m mim train mmaction2 '
     'configs/demo/tsm_r18_demo.py --work-dir W'):
        TRAINING + ' (tests/runners/test_mim.py: mim train)',
    ('docs/configs.md', 'srun -p PARTITION --gres=gpu:8 --ntasks=8 '
     '--ntasks-per-node=8 --cpus-per-task=5 python -u $TOOLS/train.py $CONFIG '
     '--launcher slurm --work-dir work_dirs/tsm'): 'a slurm cluster, 8 GPUs',
    ('docs/data.md', 'python $TOOLS/train.py configs/demo/tsm_r18_demo.py '
     '--work-dir work_dirs/bad_run --cfg-options train_dataloader.dataset.'
     'data_root=$D val_dataloader.dataset.data_root=$D test_dataloader.'
     'dataset.data_root=$D val_dataloader.dataset.check_files=False'):
        'a training run that stops at the bad video; tests/runners/'
        'test_bad_data.py runs stock train.py on bad data and checks the error',
    ('docs/data.md', 'python -m tsm_plugin.tools.check_data CONFIG [--split '
     'train val test] [--workers N] [--min-frames N] [--out bad.tsv] '
     '[--cfg-options KEY=VALUE ...]'): 'a synopsis ([...] placeholders)',
    ('docs/deploy_int8.md', 'python runner.py tsm_online_int8.onnx 0'):
        'camera 0 (none here)',
    ('docs/deploy_int8.md', 'cd benchmarks && python bench_int8.py '
     '../configs/demo/tsm_r18_online_demo.py $CKPT --data-root $D --out '
     'results --rounds 15 --threads 2'):
        'a benchmark on the full demo data (minutes)',
    ('docs/streaming.md', 'source .venv/bin/activate'):
        'sets up the shell; these tests run in that venv',
    ('docs/streaming.md', 'python -m tsm_plugin.demo.make_data '
     'work_dirs/online/data'): 'makes the full demo data (800 videos) for '
    'the training below; the folder holds a small set made by the same '
    'code (tests/demo/test_make_data.py runs the command)',
    ('docs/streaming.md', 'python $TOOLS/train.py configs/demo/'
     'tsm_r18_online_demo.py --work-dir work_dirs/online/tsm --cfg-options '
     'train_dataloader.dataset.data_root=$D val_dataloader.dataset.data_root='
     '$D test_dataloader.dataset.data_root=$D'): TRAINING,
    ('docs/tadaconv_backbones.md', 'PYTHONPATH=$PWD .venv/bin/python -m '
     'pytest -q tests/models/backbones/test_tada_backbone.py'):
        'runs tests of this suite',
    ('docs/tadaconv_backbones.md', 'PYTHONPATH=$PWD .venv-zoo/bin/python -m '
     'pytest -q -m zoo tests/models/backbones/test_tada_backbone_zoo.py '
     'tests/configs/test_tadaconvnext_configs.py'): 'runs tests of this suite',
    ('docs/tadaconv_backbones.md', 'PYTHONPATH=$PWD .venv/bin/python -m '
     'pytest -q tests/models/backbones/test_resnet_tada.py '
     'tests/configs/test_tada_configs.py'): 'runs tests of this suite',
}
# Commands that need timm, torchvision or mmpretrain: run by the zoo venv
# (test_zoo_commands_run), not by the core one.
ZOO = {
    ('docs/tadaconv_backbones.md', 'python -m tsm_plugin.tools.placement '
     'configs/tada/tadaconvnext-t_imagenet-pretrained_8xb16-16x5x1-100e_'
     'kinetics400-rgb.py'),
}
# Commands run with arguments added, and why (the fixture's data is small).
ADDED_ARGUMENTS = {
    'python -m tsm_plugin.deploy.export': (
        '--int8', ['--calibration-videos', '6', '--check-videos', '4'],
        'the demo fixture holds 10 val videos; the defaults (32 + 16) need '
        '49, and the code path is the same'),
}


def code_blocks(text):
    """``(first line number, language, lines)`` of each fenced block (also
    one indented under a list item)."""
    lines = text.split('\n')
    i = 0
    while i < len(lines):
        match = re.match(r'^(\s*)```(\w*)\s*$', lines[i])
        if not match:
            i += 1
            continue
        indent, start = match.group(1), i
        i += 1
        while not re.match(r'^\s*```\s*$', lines[i]):
            i += 1
        yield start + 1, match.group(2), [
            line[len(indent):] if line.startswith(indent) else line.lstrip()
            for line in lines[start + 1:i]]
        i += 1


def logical_lines(lines):
    """Lines with their ``\\`` continuations joined by one space."""
    out, current = [], None
    for line in lines:
        piece = line.strip()
        if current is not None:
            current = f'{current} {piece}'
        else:
            current = line.rstrip()
        if current.endswith('\\'):
            current = current[:-1].rstrip()
            continue
        out.append(current)
        current = None
    if current is not None:
        out.append(current)
    return out


def unquoted(text):
    """``(index, char, depth)`` of each character of ``text`` outside quotes;
    ``depth``: how many ``$(...)`` it is inside."""
    depth, quote = 0, None
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = None
        elif char in '\'"':
            quote = char
        else:
            if text.startswith('$(', i):
                depth += 1
            elif char == ')' and depth:
                depth -= 1
            yield i, char, depth


def strip_comment(line):
    """``line`` without a trailing ``# comment`` (outside quotes)."""
    for i, char, _ in unquoted(line):
        if char == '#' and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def commands_of(text):
    """``(line number, command, expected exit status)`` of every command
    block of a document. In a transcript, ``$ echo $?`` and the number under
    it give the status of the command before it."""
    for number, language, lines in code_blocks(text):
        prompted = [line for line in lines if line.startswith(PROMPT)]
        first = next((line for line in lines if line.strip()), '')
        if prompted:  # a transcript: the prompted lines, then their output
            commands, keep = [], False
            for line in lines:
                if line.startswith(PROMPT):
                    commands.append([line[len(PROMPT):]])
                    keep = line.rstrip().endswith('\\')
                elif keep:
                    commands[-1].append(line)
                    keep = line.rstrip().endswith('\\')
                elif commands and len(commands[-1]) == 1 and \
                        commands[-1][0].strip() == 'echo $?' and \
                        line.strip().isdigit():
                    commands[-1].append(int(line.strip()))
            selected = []
            for command in commands:
                if command[0].strip() == 'echo $?' and selected and \
                        len(command) == 2:
                    selected[-1] = (selected[-1][0], command[1])
                else:
                    selected.append((logical_lines(command)[0], 0))
        elif language in SHELL_LANGUAGES or (
                not language and COMMAND_START.match(first)):
            selected = [(line, 0) for line in logical_lines(lines)]
        else:
            continue
        for command, status in selected:
            command = re.sub(r'\s+', ' ', strip_comment(command)).strip()
            if command:
                yield number, command, status


def all_commands():
    return {doc: list(commands_of((REPO / doc).read_text()))
            for doc in DOCS}


def command_texts(doc):
    return [command for _, command, _ in all_commands()[doc]]


ASSIGNMENT = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)=(\S.*)?$')


def is_assignment(command):
    """``NAME=VALUE`` alone (not ``NAME=VALUE command ...``)."""
    match = ASSIGNMENT.match(command)
    return bool(match) and not first_word(match.group(2) or '')[1]


def first_word(value):
    """``(first shell word, the rest)`` of ``value``: quotes and ``$(...)``
    kept whole."""
    for i, char, depth in unquoted(value):
        if char.isspace() and not depth:
            return value[:i], value[i:].strip()
    return value, ''


def named_paths(command):
    """Repository paths a command names (configs/, tests/, ...)."""
    return re.findall(r'(?<![\w/.$])((?:configs|tests|benchmarks|tsm_plugin|'
                      r'docs)/[\w./*-]+)', command)


def named_modules(command):
    return re.findall(r'-m (tsm_plugin[\w.]*)', command)


# --- the working folder the docs assume ---

@pytest.fixture(scope='module')
def docs_folder(tmp_path_factory):
    """A folder laid out as after `make demo` and docs/streaming.md:
    ``work_dirs/demo/data`` (a small demo data set),
    ``work_dirs/demo/tsm/best_acc_top1_epoch_1.pth`` (the demo config's
    bi-directional model), ``work_dirs/online/data`` with ``labels.txt`` and
    ``work_dirs/online/tsm/best_acc_top1_epoch_1.pth`` (the online demo's
    model, BN measured on the demo frames: tests/int8_assets.py); the
    repository's configs/, tsm_plugin/ and benchmarks/ linked in."""
    from mmaction.registry import MODELS
    from mmengine import Config
    from mmengine.registry import init_default_scope

    from tsm_plugin.demo.make_data import make_dataset
    folder = tmp_path_factory.mktemp('docs')
    for name in ('configs', 'tsm_plugin', 'benchmarks', 'tests', 'docs'):
        (folder / name).symlink_to(REPO / name)
    work = folder / 'work_dirs'
    make_dataset(str(work / 'demo' / 'data'), num_train=2, num_val=2,
                 num_test=2)
    init_default_scope('mmaction')
    cfg = Config.fromfile(str(REPO / 'configs' / 'demo' / 'tsm_r18_demo.py'))
    torch.manual_seed(0)
    demo = MODELS.build(cfg.model)
    (work / 'demo' / 'tsm').mkdir()
    torch.save(dict(state_dict=demo.state_dict(),
                    meta=dict(cfg=cfg.pretty_text)),
               work / 'demo' / 'tsm' / 'best_acc_top1_epoch_1.pth')
    online = assets(base(tmp_path_factory))
    (work / 'online' / 'tsm').mkdir(parents=True)
    shutil.copytree(Path(online['root']) / 'data', work / 'online' / 'data')
    (work / 'online' / 'data' / 'labels.txt').write_text(
        'pan right\npan left\n')
    shutil.copy(online['checkpoint'],
                work / 'online' / 'tsm' / 'best_acc_top1_epoch_1.pth')
    # docs/deploy_int8.md's device folder: the runner beside the graphs
    shutil.copy(REPO / 'tsm_plugin' / 'deploy' / 'runner.py', folder)
    shutil.copy(work / 'online' / 'data' / 'test' / '00000_1.mp4',
                folder / 'video.mp4')
    bin_dir = folder / '.bin'  # `python` is this interpreter
    bin_dir.mkdir()
    (bin_dir / 'python').symlink_to(sys.executable)
    return folder


class Shell:
    """Variables carried from command to command; words expanded by bash."""

    def __init__(self, folder):
        self.folder = folder
        self.variables = {}  # name -> raw value, evaluated when used
        self.values = {}
        self.env = dict(os.environ, PATH=f'{folder / ".bin"}:'
                        f'{os.environ["PATH"]}', PWD=str(folder))

    def value(self, name):
        if name not in self.values:
            raw = self.variables[name]
            self.needs(raw)
            self.values[name] = self.bash(f'{name}={raw}; printf %s "${name}"')
        return self.values[name]

    def needs(self, command):
        """Evaluate the variables ``command`` uses (in order of need)."""
        for name in list(self.variables):
            if re.search(rf'\${{?{name}\b', command):
                self.value(name)

    def bash(self, script, status=0):
        prelude = '\n'.join(f'export {n}={shell_quote(v)}'
                            for n, v in self.values.items())
        run = subprocess.run(['bash', '-c', f'{prelude}\n{script}'],
                             cwd=self.folder, env=self.env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == status, f'{script}\n{run.stderr[-3000:]}'
        return run.stdout

    def words(self, command):
        self.needs(command)
        out = self.bash(f'set -- {command}; printf "%s\\0" "$@"')
        return out.split('\0')[:-1]


def shell_quote(value):
    return "'" + value.replace("'", "'\\''") + "'"


def run_python(words, folder, monkeypatch, status=0):
    """``python -m MODULE ...`` or ``python FILE.py ...`` in this process,
    as ``__main__``; fails unless it exits with ``status``."""
    args = words[1:]
    monkeypatch.chdir(folder)
    if args[0] == '-m':
        module, rest = args[1], args[2:]
        monkeypatch.setattr(sys, 'argv', [module] + rest)
        run = lambda: runpy.run_module(module, run_name='__main__',  # noqa
                                       alter_sys=True)
    else:
        script, rest = args[0], args[1:]
        monkeypatch.setattr(sys, 'argv', [script] + rest)
        monkeypatch.syspath_prepend(str(Path(folder, script).parent))
        run = lambda: runpy.run_path(script, run_name='__main__')  # noqa
    code = 0
    try:
        run()
    except SystemExit as exit_:
        code = 0 if exit_.code is None else exit_.code
        code = 1 if isinstance(code, str) else code  # sys.exit('message')
    assert code == status, f'{" ".join(words)}: exit {code}, not {status}'


def with_added_arguments(words):
    for prefix, (needs, extra, _) in ADDED_ARGUMENTS.items():
        if ' '.join(words).startswith(prefix.replace('python', words[0], 1)) \
                and needs in words:
            return words + extra
    return words


def run_document(doc, folder, monkeypatch, only=None):
    shell = Shell(folder)
    ran = []
    for _, command, status in all_commands()[doc]:
        if (doc, command) in NOT_RUN or (
                only is None and (doc, command) in ZOO) or (
                only is not None and (doc, command) not in only
                and not is_assignment(command)):
            continue
        if is_assignment(command):
            name, raw = command.split('=', 1)
            shell.variables[name] = raw
            shell.values.pop(name, None)
            continue
        start = time.perf_counter()
        words = shell.words(command)
        python = words and os.path.basename(words[0]) == 'python' and \
            len(words) > 1 and (words[1] == '-m' or words[1].endswith('.py'))
        if python and not re.search(r'[;&|<>]', command):
            run_python(with_added_arguments(words), folder, monkeypatch,
                       status)
        else:
            shell.needs(command)
            shell.bash(command, status)
        ran.append(command)
        print(f'ran ({time.perf_counter() - start:.1f} s): {command}')
    return ran


# --- the tests ---

def test_every_command_is_run_or_listed():
    """Not run: each listed command is still in its document (a stale entry
    fails), and names files and modules that exist."""
    found = {(doc, command) for doc in DOCS for command in command_texts(doc)}
    stale = sorted((set(NOT_RUN) | ZOO | set()) - found)
    assert stale == [], 'listed but in no document any more'
    assert set(NOT_RUN).isdisjoint(ZOO)


@pytest.mark.parametrize('doc', DOCS)
def test_named_files_and_modules_exist(doc):
    """Every command, run or not: the repository paths and the plugin's
    modules it names exist (a renamed module or config shows here first)."""
    missing = []
    for number, command, _ in all_commands()[doc]:
        for path in named_paths(command):
            if not glob.glob(str(REPO / path)) and '<' not in path:
                missing.append(f'{doc}:{number}: {path}')
        for module in named_modules(command):  # in this checkout
            path = REPO.joinpath(*module.split('.'))
            if not (path.with_suffix('.py').is_file()
                    or (path / '__main__.py').is_file()):
                missing.append(f'{doc}:{number}: -m {module}')
    assert missing == []


@pytest.mark.parametrize('doc', DOCS)
def test_commands_run(doc, docs_folder, monkeypatch):
    ran = run_document(doc, docs_folder, monkeypatch)
    # a document whose blocks all were skipped would prove nothing silently
    assert ran or all((doc, c) in NOT_RUN or (doc, c) in ZOO
                      or is_assignment(c) for c in command_texts(doc))


@pytest.mark.zoo
def test_zoo_commands_run(docs_folder, monkeypatch):
    for doc in sorted({doc for doc, _ in ZOO}):
        ran = run_document(doc, docs_folder, monkeypatch, only=ZOO)
        assert set(ran) == {c for d, c in ZOO if d == doc}


def test_commands_are_found_in_blocks_and_transcripts():
    # The reader itself: a bash block with a continuation and a comment, a
    # transcript whose output is not a command, a plain text block ignored.
    text = ('```bash\n# a comment\nD=x   # data\npython -m a \\\n    --b $D\n'
            '```\n\n  ```text\n  $ python -m c \\\n      d\n  output line\n'
            '  ```\n\n```\nnot a command\n```\n')
    assert [c for _, c, _ in commands_of(text)] == [
        'D=x', 'python -m a --b $D', 'python -m c d']
    transcript = '```text\n$ false\n$ echo $?\n1\n```\n'
    assert [(c, s) for _, c, s in commands_of(transcript)] == [('false', 1)]
    assert is_assignment('CKPT=$(ls work_dirs/x/*.pth)')
    assert not is_assignment('PYTHONPATH=$PWD python -m pytest')
