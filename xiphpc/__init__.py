"""xiphpc: an MPI risk engine — trade partitions on ranks, numba kernels, reduced risk in HDF5."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xiphpc")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
