"""Every `symetrisk` command answers --help with a description and at least one example of
itself, without a traceback."""

from __future__ import annotations

import pytest

from pipelines import cli


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_has_help_with_an_example(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    assert out.startswith(f"usage: symetrisk {name}")
    assert "examples:" in out
    assert f"  symetrisk {name}" in out.split("examples:", 1)[1]


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_status_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["status", "--help"])
    out = capsys.readouterr().out
    for line in ("0  all well", "3  the API check failed", "4  the last recorded run failed"):
        assert line in out
