"""Batch-system front ends: Slurm scripts rendered from templates shipped with the package."""
