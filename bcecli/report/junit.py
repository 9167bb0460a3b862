"""The gate as JUnit XML (``--junit-xml``), for CI test reporters.

Shaped as pytest's junitxml writes it: ``<testsuites>`` around one ``<testsuite name="bce">``
with ``tests``/``failures``/``errors``/``skipped``/``time``, one ``<testcase>`` per check.
A failed check carries ``<failure message="...">``; a new group, which is listed but not
gated, is ``<skipped>``. A run that could not score (exit 2) is one test case in
``<error message="...">`` carrying bce's message, so a CI reporter shows why instead of
failing for a missing file. No timestamp or host name, so the same report gives the same file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from bcecli.document import Check, Document, Gate
from bcecli.report.gate_text import failure_lines
from bcecli.report.layout import group_label

if TYPE_CHECKING:
    from bcecli.gate import Increase

# Characters XML 1.0 cannot hold even escaped (control characters from a group key).
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit(document: Document, *, max_increase: Increase | str | None = None) -> str:
    """The report's gate checks as a JUnit XML document (an empty suite when no gate ran).

    A failure's message is the line ``bce`` prints on stderr for it; ``max_increase``
    (the option as given) is quoted there as in ``failure_lines``.
    """
    gate: Gate = document["gate"] or {"passed": True, "checks": []}
    checks = gate["checks"]
    # failure_lines gives one line per failed check, in check order.
    messages = iter(failure_lines(gate, max_increase=max_increase))
    failed = [check for check in checks if not check["passed"]]
    skipped = [check for check in checks if _is_new(check)]
    root = ET.Element("testsuites", {"name": "bce"})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": "bce",
            "errors": "0",
            "failures": str(len(failed)),
            "skipped": str(len(skipped)),
            "tests": str(len(checks)),
            "time": "0.000",
        },
    )
    for check in checks:
        where = check["column"]
        if check["group"] is not None:
            where += ", " + group_label(check["group"])
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": "bce.gate", "name": _clean(f"{check['name']}[{where}]"), "time": "0.000"},
        )
        details = _clean(_details(check))
        if not check["passed"]:
            failure = ET.SubElement(case, "failure", {"message": _clean(next(messages))})
            failure.text = details
            continue
        if _is_new(check):
            ET.SubElement(case, "skipped", {"message": "new group, not in the baseline: not gated"})
        ET.SubElement(case, "system-out").text = details
    return _document(root)


def render_junit_error(message: str) -> str:
    """One test case in error, carrying ``message``: the gate could not run at all."""
    root = ET.Element("testsuites", {"name": "bce"})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": "bce",
            "errors": "1",
            "failures": "0",
            "skipped": "0",
            "tests": "1",
            "time": "0.000",
        },
    )
    case = ET.SubElement(
        suite, "testcase", {"classname": "bce.gate", "name": "score", "time": "0.000"}
    )
    error = ET.SubElement(case, "error", {"message": _clean(message)})
    error.text = _clean(message)
    return _document(root)


def _document(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _is_new(check: Check) -> bool:
    # Only a max_increase check without a baseline value is a new, ungated group.
    return check["name"] == "max_increase" and check["baseline"] is None


def _details(check: Check) -> str:
    fields = {
        "value": check["value"],
        "threshold": check["threshold"],
        "baseline": check["baseline"],
        "delta": check["delta"],
    }
    # repr: the shortest text that reads back as the same float, so nothing is rounded away.
    lines = [f"{name}: {'-' if value is None else repr(value)}" for name, value in fields.items()]
    lines.append("verdict: " + ("pass" if check["passed"] else "FAIL"))
    return "\n".join(lines) + "\n"


def _clean(text: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
