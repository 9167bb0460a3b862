"""Reading inputs: sources, readers, column resolution and conversion."""
