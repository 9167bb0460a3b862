"""Where a scoring pass runs: in this process (``local``) or on a Dask cluster (``dask``).

Both engines score with the same code (``bcecli.scoring``) into the same mergeable
``ScoreState``; they differ only in where partitions are scored and merged.
"""

ENGINES = ("local", "dask")
