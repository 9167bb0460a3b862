"""``python -m bcecli`` and the ``bce`` command: the same entry point."""

import os
import sys


def run() -> None:
    # Before pyarrow loads: its allocator (mimalloc) would commit a 1 GiB arena up front
    # and mark it for transparent huge pages, so each 2 MiB it touched stayed resident
    # whole, 30-40 MiB more at peak, and more the longer the input. Committed as it is
    # used, memory is counted in 4 KiB pages, and the huge pages' faults are saved.
    os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")
    # Before numpy loads: bce does no linear algebra, yet numpy's BLAS starts a worker
    # thread per core as it loads (CPU time spent for nothing, more on big machines). One
    # thread for OpenBLAS (numpy's wheels) and MKL (some conda builds), unless the user
    # chose. Not OMP_NUM_THREADS: pyarrow sizes its own thread pool, which bce does use,
    # from it. Here, not in the library: importing bcecli leaves a user's environment alone.
    for blas in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(blas, "1")
    # Ctrl-C while the CLI's modules are still importing exits as quietly as later.
    try:
        from bcecli.cli import main
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(main())


if __name__ == "__main__":
    run()
