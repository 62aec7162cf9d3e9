"""Benchmarks: one script per area, ``python -m bench.<name>``; ``python -m bench`` runs them all."""
