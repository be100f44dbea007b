"""Market objects: curves, vol surfaces, risk factors and curve states."""
