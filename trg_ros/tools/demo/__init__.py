"""``trg-ros demo``: the command, its player node, flow control and output."""
