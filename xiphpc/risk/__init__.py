"""Revaluation under bumped and scenario markets, par-rate mapping, VaR and ES."""
