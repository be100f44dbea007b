"""Readers and writers of the engine's inputs: portfolio sources and historical market data."""
