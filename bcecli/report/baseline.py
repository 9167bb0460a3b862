"""A baseline: the JSON report of an earlier run, read back to gate this one against."""

from __future__ import annotations

import json
from typing import Any

from bcecli.document import SCHEMA
from bcecli.errors import BaselineError


def load_baseline(path: str) -> dict[str, Any]:
    """Read a baseline report: a JSON object with this bce's report schema, or BaselineError."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError:
        raise BaselineError(
            f"Baseline {path} does not exist; write one with "
            "bce score ... --format json > baseline.json (or --report-json PATH)."
        ) from None
    except IsADirectoryError:
        raise BaselineError(f"Baseline {path} is a folder, not a JSON report.") from None
    except UnicodeDecodeError:
        raise BaselineError(f"Baseline {path} is not a JSON report (not UTF-8 text).") from None
    except OSError as error:
        raise BaselineError(f"Cannot read baseline {path}: {error.strerror or error}.") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(
            f"Baseline {path} is not a JSON report (line {error.lineno}: {error.msg}); "
            "write it with bce score --format json."
        ) from None
    if not isinstance(document, dict) or "schema" not in document:
        raise BaselineError(
            f'Baseline {path} is JSON but not a bce report (no "schema" key); '
            "write it with bce score --format json."
        )
    if document["schema"] != SCHEMA:
        raise BaselineError(
            f"Baseline {path} is a {document['schema']!r} report and this bce reads "
            f"{SCHEMA!r}; score the baseline again with this version of bce."
        )
    return document
