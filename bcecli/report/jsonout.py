"""The report as one JSON document: stable keys, no NaN token, ever."""

from __future__ import annotations

import json
from typing import Any, TextIO

from bcecli.document import Document


def render_json(document: Document | dict[str, Any]) -> str:
    """The report (or another JSON object, such as the schema) as indented JSON text."""
    # allow_nan=False: a NaN that slipped past to_dict() fails loudly instead of
    # writing a token no JSON parser accepts; default=str covers dates in group keys.
    return json.dumps(document, indent=2, allow_nan=False, default=str) + "\n"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the report document, shipped inside the package."""
    from importlib.resources import files

    text = (files("bcecli") / "report" / "schema" / "bce.report-1.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def write(document: Document, out: TextIO) -> None:
    """The JSON report onto ``out`` (``--format json``)."""
    out.write(render_json(document))
