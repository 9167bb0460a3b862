"""``python -m bcecli`` and the ``bce`` command: the same entry point."""

import os
import sys


def run() -> None:
    # Before pyarrow loads: its allocator (mimalloc) would commit a 1 GiB arena up front
    # and mark it for transparent huge pages, so each 2 MiB it touched stayed resident
    # whole, 30-40 MiB more at peak, and more the longer the input. Committed as it is
    # used, memory is counted in 4 KiB pages, and the huge pages' faults are saved.
    os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")
    # Ctrl-C while the CLI's modules are still importing exits as quietly as later.
    try:
        from bcecli.cli import main
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(main())


if __name__ == "__main__":
    run()
