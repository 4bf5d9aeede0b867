"""The package's layout, as docs/architecture.md draws it: which part may
import which (every import counts, also one inside a function), no import
circle between modules, a root that holds only what ``import tsm_plugin``
needs, and a deployment runner that imports nothing of torch, MMAction2 or
the plugin. Read from the source (``ast``), so nothing is imported."""
import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / 'tsm_plugin'

# The root: what `import tsm_plugin` needs, nothing else.
ROOT_MODULES = {'__init__', 'registry', 'stack_fixes', 'quiet'}
# Each folder holds one kind of thing (docs/architecture.md).
FOLDERS = {'ops', 'models', 'datasets', 'online', 'deploy', 'tools', 'demo',
           'convert'}
# part -> the parts of the plugin it may import ('root': `tsm_plugin` itself
# and its root modules). The table is itself ordered: a part imports only
# parts above it (or itself), so no circle can form between parts.
MAY_IMPORT = {
    'root': {'root', 'registry', 'ops', 'models', 'datasets'},
    'ops': {'ops'},
    'models': {'models', 'ops', 'registry'},
    'datasets': {'datasets', 'registry'},
    'online': {'online', 'models', 'ops', 'registry'},
    'deploy': {'deploy', 'online', 'models', 'ops', 'registry'},
    'convert': {'convert', 'root', 'registry', 'models', 'ops', 'datasets'},
    'tools': {'tools', 'root', 'registry', 'models', 'ops', 'datasets'},
    'demo': {'demo', 'root', 'registry', 'models', 'ops', 'datasets',
             'online'},
}
# Root modules other than __init__ import nothing of the plugin.
ROOT_LEAVES = {'tsm_plugin.registry', 'tsm_plugin.stack_fixes',
               'tsm_plugin.quiet'}
OPENMMLAB = {'mmaction', 'mmengine', 'mmpretrain', 'mmcv'}
# The runner goes to a device alone: the standard library, numpy, ONNX
# Runtime and a video decoder, nothing else.
RUNNER = 'tsm_plugin.deploy.runner'
RUNNER_MAY_IMPORT = {'numpy', 'onnxruntime', 'cv2', 'decord'}


def module_files(package=PACKAGE):
    """``{dotted name: path}`` of every module of the package."""
    modules = {}
    for path in sorted(package.rglob('*.py')):
        parts = path.relative_to(package.parent).with_suffix('').parts
        if parts[-1] == '__init__':
            parts = parts[:-1]
        modules['.'.join(parts)] = path
    return modules


def imports_of(name, path, modules):
    """``(plugin modules, [(top-level package, guarded)])`` that the module
    imports anywhere in its source; ``guarded``: inside a ``try`` whose
    handler catches ImportError (an optional dependency)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    guarded_nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                'ImportError' in ast.dump(h.type) for h in node.handlers
                if h.type is not None):
            for child in node.body:
                guarded_nodes.update(id(n) for n in ast.walk(child))
    internal, external = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                module = '.'.join(base + ([node.module] if node.module
                                          else []))
            else:
                module = node.module
            targets = [(module, [a.name for a in node.names])]
        else:
            continue
        for module, names in targets:
            if module.partition('.')[0] != 'tsm_plugin':
                external.append((module.partition('.')[0],
                                 id(node) in guarded_nodes))
                continue
            hits = [f'{module}.{n}' for n in names or ()
                    if f'{module}.{n}' in modules]
            internal.update(hits)
            if len(hits) < len(names or [None]):
                internal.add(module)
    return internal, external


def part_of(module):
    """'root' for ``tsm_plugin`` itself and its root modules but the registry
    ('registry': every part registers), else the folder ('ops', ...)."""
    parts = module.split('.')
    if len(parts) == 1:
        return 'root'
    if parts[1] in ('stack_fixes', 'quiet'):
        return 'root'
    return parts[1]


@pytest.fixture(scope='module')
def graph():
    modules = module_files()
    return modules, {name: imports_of(name, path, modules)
                     for name, path in modules.items()}


def import_cycles(edges):
    """Strongly connected components of more than one module (or a module
    importing itself): Tarjan's algorithm, iterative."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    counter = [0]

    def visit(root):
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in edges.get(node, ()):
                        cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_circle_in_the_package(graph):
    _, imports = graph
    edges = {name: internal for name, (internal, _) in imports.items()}
    assert import_cycles(edges) == []


def test_cycle_finder_sees_a_circle():
    # the circle this layout removed (export -> quantize -> export,
    # metadata -> quantize, export -> metadata)
    edges = {'export': {'quantize', 'metadata'}, 'metadata': {'quantize'},
             'quantize': {'export'}}
    assert import_cycles(edges) == [['export', 'metadata', 'quantize']]
    assert import_cycles({'a': {'b'}, 'b': set()}) == []


def test_parts_import_only_what_the_diagram_allows(graph):
    _, imports = graph
    wrong = []
    for name, (internal, _) in imports.items():
        part = part_of(name)
        if name in ROOT_LEAVES:
            wrong += [f'{name} -> {t}' for t in internal]
            continue
        allowed = MAY_IMPORT[part]
        for target in internal:
            target_part = part_of(target)
            if target_part not in allowed and target_part != part:
                wrong.append(f'{name} ({part}) -> {target} ({target_part})')
    assert wrong == []


def test_ops_import_nothing_of_openmmlab(graph):
    # mmcv only as an optional extra (its Conv2d wrapper), under a guard.
    _, imports = graph
    wrong = [f'{name} imports {package}'
             for name, (_, external) in imports.items()
             if part_of(name) == 'ops'
             for package, guarded in external
             if package in OPENMMLAB and not (package == 'mmcv' and guarded)]
    assert wrong == []


def test_the_runner_imports_only_numpy_onnxruntime_and_a_decoder(graph):
    _, imports = graph
    internal, external = imports[RUNNER]
    outside = {package for package, _ in external
               if package not in sys.stdlib_module_names}
    assert internal == set()
    assert outside <= RUNNER_MAY_IMPORT, outside - RUNNER_MAY_IMPORT


def test_the_runner_imports_without_torch():
    # The full check (its scores against PyTorch's, copied alone to a folder)
    # is tests/deploy/test_runner.py; this one is fast: the module loads
    # with torch, MMAction2 and the plugin unimportable.
    code = textwrap.dedent(f'''
        import importlib.abc, runpy, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.partition('.')[0] in {('torch', 'tsm_plugin')
                                               + tuple(OPENMMLAB)!r}:
                    raise ImportError(name + ' is blocked')
        sys.meta_path.insert(0, Block())
        runpy.run_path({str(PACKAGE / 'deploy' / 'runner.py')!r})
        print('loaded', 'torch' in sys.modules)
    ''')
    run = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=120, cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ['loaded', 'False']


def test_the_root_holds_only_registration_and_folders():
    files = {p.stem for p in PACKAGE.glob('*.py')}
    folders = {p.name for p in PACKAGE.iterdir()
               if p.is_dir() and p.name != '__pycache__'}
    assert files == ROOT_MODULES
    assert folders <= FOLDERS, folders - FOLDERS
    assert all((PACKAGE / f / '__init__.py').is_file() for f in folders)
    assert set(MAY_IMPORT) == FOLDERS | {'root'}


def test_a_model_importing_online_code_is_caught(tmp_path):
    # The checker itself, on a planted copy of the rule it enforces.
    package = tmp_path / 'tsm_plugin'
    for folder in ('models', 'online'):
        (package / folder).mkdir(parents=True)
        (package / folder / '__init__.py').write_text('')
    (package / '__init__.py').write_text('')
    (package / 'online' / 'streaming.py').write_text('import torch\n')
    (package / 'models' / 'head.py').write_text(
        'def f():\n    from ..online.streaming import x\n')
    modules = module_files(package)
    internal, _ = imports_of('tsm_plugin.models.head',
                             modules['tsm_plugin.models.head'], modules)
    assert internal == {'tsm_plugin.online.streaming'}
    assert 'online' not in MAY_IMPORT[part_of('tsm_plugin.models.head')]
