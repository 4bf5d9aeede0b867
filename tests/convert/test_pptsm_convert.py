"""``python -m tsm_plugin.convert pptsm``: not supported yet; it refuses with
the reason, naming the file, instead of writing a checkpoint for a network
that computes something else (docs/converted_tadaconv.md, "PP-TSM")."""
import pytest

from tsm_plugin.convert.__main__ import main


def test_pptsm_is_refused_with_the_reason(tmp_path):
    src = tmp_path / 'ppTSM_k400_uniform.pdparams'
    src.write_bytes(b'\x80\x04}\x94.')  # an empty pickled dict
    out = tmp_path / 'out.pth'
    with pytest.raises(SystemExit, match=r'ppTSM_k400_uniform\.pdparams.*'
                       r'not supported.*LeakyReLU.*t-1'):
        main(['pptsm', str(src), str(out)])
    assert not out.exists()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(SystemExit, match=r'nope\.pdparams: no such file'):
        main(['pptsm', str(tmp_path / 'nope.pdparams'),
              str(tmp_path / 'o.pth')])
