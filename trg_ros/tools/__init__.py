"""User-facing tools behind the trg-ros command: demo, bench, eval."""
