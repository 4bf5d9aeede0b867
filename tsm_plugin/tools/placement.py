"""Show where a config's backbone puts its temporal modules, before training.

    python -m tsm_plugin.tools.placement CONFIG

Builds the config's model (random weights, nothing loaded) and prints its
backbone's ``placement_table()``: every shifted (or TAda) module, what it
wraps, the channels in and the channels moved.
"""
import argparse
import sys


def placement_of_config(config):
    from mmengine import Config
    from mmengine.registry import init_default_scope

    import tsm_plugin  # noqa: F401 (registers the plugin's modules)
    from mmaction.registry import MODELS
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    backbone = MODELS.build(cfg.model).backbone
    table = getattr(backbone, 'placement_table', None)
    if table is None:
        raise ValueError(f'backbone {type(backbone).__name__} is not one of '
                         "the plugin's: it has no placement table")
    return table()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m tsm_plugin.tools.placement', description=__doc__.split(
            '\n')[0])
    parser.add_argument('config', help='model config file')
    args = parser.parse_args(argv)
    print(placement_of_config(args.config))


if __name__ == '__main__':
    try:
        main()
    except (ValueError, ImportError, OSError) as error:
        sys.exit(f'error: {error}')
