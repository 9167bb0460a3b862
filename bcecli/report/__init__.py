"""The report document and its renderings."""
