"""Benchmarks: every hot path measured against a physical baseline in the same run."""
