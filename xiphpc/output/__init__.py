"""The HDF5 result: its schema, writers, merging of results and the terminal summary."""
