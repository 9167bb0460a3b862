"""The report document (``bce.report/1``, SPEC section 6): its name.

Neutral ground between the gate and the report: bcecli.gate reads documents and writes
their ``gate`` object, bcecli.report builds and renders them, and both import what they
share about the document from here rather than from each other. Standard library only.
"""

from __future__ import annotations

from typing import Final

# Schema history: 1 — first version.
SCHEMA: Final = "bce.report/1"
