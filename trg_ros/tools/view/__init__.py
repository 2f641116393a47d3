"""``trg-ros view``: a live 3-D view in the browser (viser), fed by the demo or by a node's
topics."""
