"""The risk report of a result file: one self-contained HTML page (``xiphpc report``).

Needs matplotlib and pandas (``pip install 'xiphpc[report]'``).
"""

from .page import Report, build_report, write_report

__all__ = ["Report", "build_report", "write_report"]
