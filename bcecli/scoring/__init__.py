"""The scoring layer: Arrow chunks from the readers become numpy batches for the core.

- ``settings``: how to score (everything but the inputs), checked once.
- ``batches``: the Arrow-to-numpy boundary: validation, group encoding, kept values.
- ``inputs``: the per-input loop every engine and ``bce rows`` share.
- ``passes``: chunks scored on a thread pool into partial states, merged in order.
- ``rows``: the ``bce rows`` pipeline (every row back out with its loss).

Where a pass runs (here or on a cluster) is ``bcecli.engines``.
"""
