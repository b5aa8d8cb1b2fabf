"""Checkpoints: the Saver, the `checkpoint` state file, checkpoint readers, and the pluggable file formats."""
