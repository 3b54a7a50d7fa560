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


def test_progress_in_a_log_file_shows_every_tenth():
    import io

    from magicdance_core.progress import TerminalBars

    log = io.StringIO()  # not a terminal: plain lines, not a redrawn bar
    bars = TerminalBars(stream=log, min_interval=0.0)
    for i in range(1001):
        bars("train", i / 1000, f"step {i}")
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert [ln.split("%")[0].split()[-1] for ln in lines] == [f"{p}.0" for p in range(0, 101, 10)]
