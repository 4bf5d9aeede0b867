"""Build any 2D backbone MMAction2's ``Recognizer2D`` accepts, and read one
feature map from it, whatever the library returns.

``type`` picks the library as in MMAction2: ``'mmpretrain.X'`` (mmpretrain's
registry), ``'timm.X'`` (``timm.create_model(X, **args)``), ``'torchvision.X'``
(``torchvision.models.get_model(X, **args)``, so ``weights=``), anything else
MMAction2's and the plugin's registry. The optional libraries are imported
only here, on demand.
"""
import copy
import inspect

SOURCES = ('mmaction', 'mmpretrain', 'timm', 'torchvision')
ZOO_HINT = ("pip install -e '.[zoo]' (mmpretrain, timm; torch==2.14.1 "
            'torchvision==0.29.1, see the README)')
# torchvision children after the trunk: pool and classifier
TORCHVISION_HEADS = ('avgpool', 'fc', 'classifier', 'dropout', 'flatten')


def _import(library):
    try:
        if library == 'mmpretrain':
            import mmpretrain.models  # noqa: F401 (fills its registry)
            import mmpretrain
            return mmpretrain
        return __import__(library)
    except ImportError as error:
        raise ImportError(f'a {library}.* backbone needs {library} '
                          f'({error}); install it with: {ZOO_HINT}') from error


def split_type(cfg):
    """``(source, name, arguments)`` of a backbone config dict."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError('backbone must be a config dict with a type, e.g. '
                         "dict(type='timm.resnet18'), got "
                         f'{cfg!r}')
    args = copy.deepcopy(dict(cfg))
    kind = args.pop('type')
    if isinstance(kind, str):
        library, _, name = kind.partition('.')
        if library in SOURCES[1:] and name:
            return library, name, args
    return 'mmaction', kind, args


def build_2d_backbone(cfg):
    """``(network, source)`` for a backbone config dict (not modified)."""
    source, name, args = split_type(cfg)
    if source == 'timm':
        timm = _import('timm')
        network = timm.create_model(name, **args)
        network.reset_classifier(0)  # the recognizer's head classifies
    elif source == 'torchvision':
        torchvision = _import('torchvision')
        network = torchvision.models.get_model(name, **args)
        # Keep the trunk: the children before pool and classifier.
        names = [n for n, _ in network.named_children()]
        end = next((i for i, n in enumerate(names)
                    if n in TORCHVISION_HEADS), len(names))
        for head in names[end:]:
            delattr(network, head)
    elif source == 'mmpretrain':
        _import('mmpretrain')
        from mmpretrain.registry import MODELS
        cls = MODELS.get(name)
        if cls is None:
            raise ValueError(f"backbone type 'mmpretrain.{name}' is not in "
                             "mmpretrain's registry")
        # ConvNeXt pools by default: a (N, C) vector, no feature map.
        if 'gap_before_final_norm' in inspect.signature(cls).parameters:
            args.setdefault('gap_before_final_norm', False)
        # `_scope_`: under a config's default_scope='mmaction' the build
        # would otherwise switch to MMAction2's registry (KeyError)
        network = MODELS.build(dict(type=name, _scope_='mmpretrain', **args))
    else:
        from ..registry import MODELS
        network = MODELS.build(dict(type=name, **args))
    return network, source


def feature_map(network, source, x):
    """One feature map ``(N, C, h, w)`` of ``network`` for frames ``x``."""
    if source == 'timm':
        out = network.forward_features(x)
    elif source == 'torchvision':
        out = x
        for child in network.children():
            out = child(out)
    else:
        out = network(x)
        if isinstance(out, (tuple, list)):
            out = out[-1]
    if out.dim() != 4:
        raise ValueError(
            f'backbone {type(network).__name__} ({source}) returned a '
            f'{out.dim()}-D output of shape {tuple(out.shape)}, not a feature '
            'map (N, C, h, w): configure it to return its last stage '
            'unpooled (e.g. gap_before_final_norm=False for mmpretrain)')
    return out
