"""The TRG network, its output codec and checkpoint loading."""
