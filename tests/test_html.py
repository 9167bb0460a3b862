"""The HTML report (--format html, --report-html, Report.to_html and _repr_html_): one
self-contained page that fetches nothing, escapes every text from the input, draws its
charts from the JSON document's numbers and shows them as tables too."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bcecli.report.html import render_fragment, render_html

from conftest import SAMPLE

PREDS = SAMPLE / "preds.csv"
FULL = ("-p", "prob", "-p", "model_b", "--by", "segment", "--calibration", "10")
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "{{ 7 * 7 }}",
    "&amp; <!-- x -->",
]


class Page(HTMLParser):
    """Every tag with its attributes, the text, and the CSS of <style> and style=."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.css: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.open.append(tag)
        style = dict(attrs).get("style")
        if style:
            self.css.append(style)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "style":
            self.css.append(data)
        else:
            self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def assert_self_contained(page: Page) -> None:
    """No script, no handler, and nothing that names another resource."""
    assert page.named("script") == []
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            if name in ("src", "href", "xlink:href", "srcset", "action", "poster", "data"):
                raise AssertionError(f"<{tag} {name}={value!r}> names a resource")
    for css in page.css:
        assert "@import" not in css
        assert "url(" not in css
        assert not re.search(r"(?i)https?:|//", css.replace("/*", "").replace("*/", ""))
    assert page.named("link") == [] and page.named("img") == [] and page.named("iframe") == []


def score(bce: Any, *args: Any) -> tuple[str, dict[str, Any]]:
    html = bce("score", *args, "--format", "html")
    assert html.exit_code in (0, 1), html.stderr
    document = json.loads(bce("score", *args, "--format", "json").stdout)
    return html.stdout, document


def hostile_csv(path: Path) -> Path:
    lines = ["label,prob,segment,note"]
    for index in range(40):
        key = HOSTILE[index % len(HOSTILE)]
        quoted = '"' + key.replace('"', '""') + '"'
        lines.append(f"{index % 2},{0.1 + 0.02 * index:.2f},{quoted},{quoted}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_page_is_one_self_contained_file(bce: Any) -> None:
    text, _ = score(bce, PREDS, *FULL, "--worst", "3", "--keep", "id", "--max-loss", "0.5")
    assert text.startswith('<!doctype html>\n<html lang="en">')
    assert text.rstrip().endswith("</html>")
    page = parse(text)
    assert_self_contained(page)
    css = "\n".join(page.css)
    assert "@media (prefers-color-scheme: dark)" in css
    assert "@media print" in css
    assert page.named("meta")[0] == {"charset": "utf-8"}


def test_every_model_s_log_loss_shows_as_the_json_prints_it(bce: Any) -> None:
    text, document = score(bce, PREDS, *FULL)
    for model in document["models"]:
        exact = json.dumps(model["metrics"]["log_loss"])
        assert f'<data value="{exact}"' in text, model["column"]
        for group in document["groups"]:
            for entry in group["models"]:
                assert f'<data value="{json.dumps(entry["metrics"]["log_loss"])}"' in text
    # The paired difference too, and eps exactly.
    assert json.dumps(document["models"][1]["paired_diff"]["mean"]) in text
    assert json.dumps(document["settings"]["eps"]) in text


def test_the_reliability_diagram_is_an_svg_with_one_curve_per_model(bce: Any) -> None:
    text, document = score(bce, PREDS, *FULL)
    page = parse(text)
    charts = page.named("svg")
    assert len(charts) == 3  # the reliability diagram and a loss histogram per model
    for chart in charts:
        assert chart["role"] == "img"
        labelled = (chart["aria-labelledby"] or "").split()
        assert [name.rsplit("-", 1)[1] for name in labelled] == ["title", "desc"]
        ids = [attrs.get("id") for _, attrs in page.tags]
        assert all(name in ids for name in labelled)
    ids = [attrs.get("id") for _, attrs in page.tags if attrs.get("id") is not None]
    assert len(ids) == len(set(ids))
    section = text.split('class="chart reliability', 1)[1].split("</figure>", 1)[0]
    curves = document["calibration_by_model"]
    assert [curve["column"] for curve in curves] == ["prob", "model_b"]
    # One marker per non-empty bin, a circle for the first model and a square for the
    # second (shape as well as colour), the diagonal, and each bin's numbers in the table.
    filled = [[b for b in curve["bins"] if b["mean_prob"] is not None] for curve in curves]
    assert section.count("<circle") == len(filled[0])
    assert section.count("<rect") >= len(filled[1])
    assert section.count("<polyline") == 2
    assert section.count('class="diagonal"') == 1
    assert "<details>" in section and "<table>" in section
    for curve, bins in zip(curves, filled):
        for entry in bins:
            mean_p, observed = entry["mean_prob"], entry["observed_rate"]
            assert f"{curve['column']}: mean p {mean_p:.4f}, observed {observed:.4f}" in section
    for model in document["models"]:
        assert model["metrics"]["ece"] is not None
        assert f"{model['column']} {model['metrics']['ece']:.4g}" in section  # in the desc


def test_each_model_s_loss_histogram_is_drawn_from_the_json_key(bce: Any) -> None:
    text, document = score(bce, PREDS, *FULL)
    histograms = document["loss_histogram"]
    assert [h["column"] for h in histograms] == ["prob", "model_b"]
    assert text.count('class="chart loss-histogram') == 2
    for tone, (histogram, model) in enumerate(zip(histograms, document["models"])):
        name = histogram["column"]
        before, chart = text.split(f'-title">Per-row log loss of {name}</title>', 1)
        chart = chart.split("</svg>")[0]
        assert before.rsplit("<svg", 1)[1].startswith(f' class="chart loss-histogram tone-{tone}"')
        filled = [i for i, rows in enumerate(histogram["rows"]) if rows]
        assert chart.split('<g class="bars">', 1)[1].split("</g>")[0].count("<rect") == len(filled)
        mean = model["metrics"]["log_loss"]
        assert f"<title>mean log loss {mean:.4g}</title>" in chart
        # The data table lists the non-empty bins with their rows, summing to the rows.
        data = text.split(f"<caption>Loss histogram data: {name}</caption>", 1)[1]
        data = data.split("</table>", 1)[0]
        counts = [int(n.replace(",", "")) for n in re.findall(r"<td[^>]*>([\d,]+)</td>", data)]
        assert counts == [histogram["rows"][i] for i in filled]
        assert sum(counts) == model["metrics"]["rows"]


def test_a_loss_beyond_the_last_edge_shows_in_the_open_bin(bce: Any, tmp_path: Path) -> None:
    source = tmp_path / "logits.csv"
    source.write_text("label,z\n1,-500\n0,-3\n1,2.5\n", encoding="utf-8")
    text, document = score(bce, source, "--logit", "z")
    (histogram,) = document["loss_histogram"]
    assert histogram["rows"][-1] == 1  # a loss of 500 is past 100
    assert "≥ 100" in text.split("<caption>Loss histogram data: z</caption>", 1)[1]
    assert "loss ≥ 100: 1 rows" in text


def test_tables_are_real_tables_with_scoped_headers(bce: Any) -> None:
    text, _ = score(bce, PREDS, *FULL, "--worst", "2", "--keep", "id", "--max-loss", "0.5")
    page = parse(text)
    headers = page.named("th")
    assert headers and all(h.get("scope") in ("col", "row", "colgroup") for h in headers)
    assert len(page.named("table")) >= 6  # inputs, gate, metrics, groups, calibration, worst
    assert len(page.named("caption")) == len(page.named("table"))
    # The groups table: one column group per model over its metrics, all metrics shown.
    groups = text.split("<caption>By segment</caption>", 1)[1].split("</table>")[0]
    assert groups.count('scope="colgroup"') == 2
    for name in ("NE", "brier", "mean prob", "clipped", "positives", "base rate", "Δ vs prob"):
        assert f">{name}</th>" in groups, name


def test_the_gate_lists_failing_checks_first_with_a_marker_besides_colour(bce: Any) -> None:
    text, document = score(bce, PREDS, *FULL, "--max-loss", "0.5", "--max-ne", "1")
    assert document["gate"]["passed"] is False
    gate = text.split('class="gate failed"', 1)[1].split("</section>", 1)[0]
    verdicts = re.findall(r'<tr class="(pass|fail)">\s*<th scope="row">([^<]*)</th>', gate)
    assert [v for v, _ in verdicts] == ["fail", "pass", "pass", "pass"]
    assert [marker for _, marker in verdicts] == ["✗ FAIL", "✓ pass", "✓ pass", "✓ pass"]
    assert "Gate: FAILED (1 of 4)" in gate
    for header in ("value", "threshold", "baseline", "delta"):
        assert f">{header}</th>" in gate


def test_every_text_from_the_input_is_escaped(bce: Any, tmp_path: Path) -> None:
    source = hostile_csv(tmp_path / '"><img src=x onerror=alert(1)>.csv')
    args = (source, "--by", "segment", "--worst", "40", "--keep", "note", "--keep", "segment")
    text, document = score(bce, *args, "--max-loss", "0.1", "--gate-groups")
    page = parse(text)
    assert_self_contained(page)
    shown = "".join(page.text)
    for key in HOSTILE:
        assert key in shown, key  # shown as text
    assert source.name in shown
    assert {group["key"]["segment"] for group in document["groups"]} == set(HOSTILE)
    assert "{{" not in text.replace("{{ 7 * 7 }}", "")  # no template syntax but the key's


def test_the_notebook_view_is_the_page_without_its_wrapper(bce: Any) -> None:
    import bcecli

    report = bcecli.score(str(PREDS), prob=["prob", "model_b"], by=["segment"], calibration=10)
    page = report.to_html()
    fragment = report._repr_html_()
    assert page == render_html(report.to_dict())
    assert fragment == render_fragment(report.to_dict())
    assert "<html" not in fragment and "<body" not in fragment and "<head>" not in fragment
    assert fragment.startswith('<div class="bce-fragment">')
    assert_self_contained(parse(fragment))
    body = page.split("<body>", 1)[1].split("</body>", 1)[0]
    inner = fragment.split("</style>", 1)[1].rsplit("</div>", 1)[0]
    assert (
        inner.strip()
        .replace('<div class="bce-report"', '<main class="bce-report"')
        .rsplit("</div>", 1)[0]
        == body.strip().rsplit("</main>", 1)[0]
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_weights_and_logits_render(bce: Any, weighted: bool) -> None:
    args = ("--weight", "weight") if weighted else ("--logit", "prob")
    run = bce("score", PREDS, *args, "--by", "segment", "--format", "html")
    if not weighted:  # prob is not a logit, but any real number is one
        assert "logits: no clipping" in run.stdout
    else:
        assert ">weight sum</th>" in run.stdout and ">weight</th>" in run.stdout
    assert run.exit_code == 0, run.stderr
    assert_self_contained(parse(run.stdout))


def test_column_names_from_the_input_are_escaped_too(bce: Any, tmp_path: Path) -> None:
    prob, by, kept = (
        '<b onclick="x()">p</b>',
        "</caption><script>x()</script>",
        "'\"><svg onload=x()>",
    )
    header = ",".join('"' + name.replace('"', '""') + '"' for name in ("label", prob, by, kept))
    rows = [f"{i % 2},{0.2 + 0.01 * i:.2f},g{i % 3},{i}" for i in range(30)]
    source = tmp_path / "cols.csv"
    source.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    run = bce(
        "score", source, "-p", prob, "--by", by, "--worst", "3", "--keep", kept,
        "--calibration", "5", "--max-loss", "0.1", "--format", "html",
    )  # fmt: skip
    assert run.exit_code == 1, run.stderr
    page = parse(run.stdout)
    assert_self_contained(page)
    assert page.named("b") == [] and page.named("svg") == [
        attrs for attrs in page.named("svg") if attrs.get("class", "").startswith("chart")
    ]
    shown = "".join(page.text)
    for name in (prob, by, kept):
        assert name in shown, name
