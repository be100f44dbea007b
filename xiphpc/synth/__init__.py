"""Synthetic portfolios, markets and histories for demos, tests and benchmarks."""
