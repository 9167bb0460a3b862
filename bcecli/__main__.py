"""``python -m bcecli`` and the ``bce`` command: the same entry point."""

import sys


def run() -> None:
    # Ctrl-C while the CLI's modules are still importing exits as quietly as later.
    try:
        from bcecli.cli import main
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(main())


if __name__ == "__main__":
    run()
