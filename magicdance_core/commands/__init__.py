"""One module per ``magicdance`` subcommand (discovered by :mod:`magicdance_core.cli`)."""
