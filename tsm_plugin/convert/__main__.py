"""``python -m tsm_plugin.convert SOURCE IN OUT [--num-segments N]
[--dataset D] [--num-classes N]``: see ``tsm_plugin.convert``."""
import argparse
import sys

from .common import SOURCES, ConversionError, convert

DATASETS = ('kinetics400', 'sthv1', 'sthv2', 'jester')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m tsm_plugin.convert',
        description="Convert a checkpoint as its authors published it into "
        "an MMAction2 checkpoint for the plugin's model (config in its meta).")
    parser.add_argument('source', choices=sorted(SOURCES),
                        help='who published the checkpoint')
    parser.add_argument('input', help="the authors' checkpoint file")
    parser.add_argument('output', help='the MMAction2 checkpoint to write')
    parser.add_argument('--num-segments', type=int, default=None,
                        help='frames per clip, where the file name does not '
                        'say')
    parser.add_argument('--dataset', choices=DATASETS, default=None,
                        help='the dataset it was trained on, where the file '
                        'name does not say')
    parser.add_argument('--num-classes', type=int, default=None,
                        help='classes of its head, where neither the file '
                        'nor the dataset says')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    options = {name: value for name, value in (
        ('num_segments', args.num_segments), ('dataset', args.dataset),
        ('num_classes', args.num_classes)) if value is not None}
    try:
        out = convert(args.source, args.input, args.output, **options)
    except (ConversionError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
