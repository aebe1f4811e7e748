"""Benchmarks: ``python -m bench`` runs every module's ``BENCHMARKS`` (see ``_harness``)."""
