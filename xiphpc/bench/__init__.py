"""Benchmarks behind ``xiphpc bench``: kernels, scenarios and the whole engine."""
