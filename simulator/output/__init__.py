"""Everything that writes files or draws: data files, figures, HTML pages and terminal tables."""

from __future__ import annotations

from simulator.output.data import write_comparison, write_data
from simulator.output.loadtest_report import summary_table

__all__ = [
    "summary_table",
    "write_comparison",
    "write_data",
]
