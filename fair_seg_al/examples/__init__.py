"""Runnable examples (``python -m fair_seg_al.examples.<name>``)."""
