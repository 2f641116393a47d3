"""``scripts/dev gpu-check``: :mod:`.check` (the command, one time-limited process per step)
runs the steps in :mod:`.steps`."""
