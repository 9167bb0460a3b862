"""The ``bce`` command line: one thin layer over the library.

- ``main``: the click group, ``main()`` and the one handler of exits, signals and pipes.
- ``options``: option bundles shared by the commands, parsed into typed objects.
- ``score``, ``rows``, ``schema``: one module per command.
- ``gates``: the gate options' baseline file, --junit-xml and stderr lines.
- ``progress``: the progress display on a terminal.
"""

from bcecli.cli.main import cli, main

__all__ = ["cli", "main"]
