"""Micro-benchmarks of the exchange core; ``python -m bench`` runs them all, ``python -m bench.<name>`` one."""
