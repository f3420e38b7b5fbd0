"""Pipelines: profile -> run specs -> result records. One module per table."""
