"""The demo's console: one progress line per stock-tool run, whose full
output goes to a log file; a failing run shows the end of its log."""
import sys

import pytest

from tsm_plugin.demo import run

CHATTY = '''
import sys
for i in range(500):
    print(f'config dump line {i}')
print('boom' if sys.argv[1:] == ['fail'] else 'all done', file=sys.stderr)
sys.exit(3 if sys.argv[1:] == ['fail'] else 0)
'''


@pytest.fixture
def tool(tmp_path):
    path = tmp_path / 'tool.py'
    path.write_text(CHATTY)
    return str(path)


def test_tool_output_goes_to_the_log(tool, tmp_path, capsys):
    log = tmp_path / 'logs' / 'train.log'
    seconds = run.run_tool(tool, ['ok'], str(log), 'TSM train')
    assert seconds >= 0
    out = capsys.readouterr().out
    assert out.count('\n') == 0  # the caller ends the line with the result
    assert out.startswith('TSM train') and str(log) in out
    text = log.read_text()
    assert text.startswith(f'$ {sys.executable} {tool} ok')
    assert 'config dump line 499' in text and 'all done' in text


def test_failing_tool_shows_the_end_of_its_log(tool, tmp_path, capsys):
    log = tmp_path / 'test.log'
    with pytest.raises(RuntimeError, match=r'(?s)TSM test: tools/tool.py '
                       r'exited with 3; the end of .*test.log.*boom') as info:
        run.run_tool(tool, ['fail'], str(log), 'TSM test')
    message = str(info.value)
    assert 'config dump line 499' in message
    assert 'config dump line 400' not in message  # only the end
    assert capsys.readouterr().out.endswith('failed\n')

