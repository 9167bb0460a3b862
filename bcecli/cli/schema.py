"""``bce schema``: the JSON Schema of the report."""

from __future__ import annotations

import click

from bcecli.cli.options import CONTEXT_SETTINGS, SCHEMA_EXIT_CODES_HELP


@click.command(context_settings=CONTEXT_SETTINGS, epilog=SCHEMA_EXIT_CODES_HELP)
def schema() -> None:
    """Print the JSON Schema of the report that --format json writes."""
    from bcecli.report.jsonout import load_schema, render_json

    click.echo(render_json(load_schema()), nl=False)
