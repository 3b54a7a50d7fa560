from magicdance_core import __version__


def test_version(cli):
    r = cli("--version")
    assert r.returncode == 0
    assert __version__ in r.stdout


def test_help_lists_subcommands(cli):
    r = cli("--help")
    assert r.returncode == 0
    assert "COMMAND" in r.stdout


def test_unknown_command_is_one_line_error(cli):
    r = cli("no-such-command")
    assert r.returncode == 2
    assert r.stderr.startswith("error:")
    assert "Traceback" not in r.stderr
