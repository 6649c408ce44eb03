"""What each Locust process records beyond Locust's statistics, and the merge of the processes' parts."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from simulator.analysis import PARTS

MAX_ROWS = 500_000
"""Requests one process records one by one for requests.csv; Locust's own statistics count them all."""


class Recorder:
    """What one Locust process saw beyond Locust's statistics: each request, arrivals, outcomes."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.arrivals: Counter[int] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.dropped = 0
        self.orders: list[str] = []
        """Order ids the target answered create_order with: what an audit of the target's database looks for."""
        self.problems: list[str] = []
        """Mapping errors met (a saved field missing from an answer): the run stops at the first."""

    def request(self, step: str, sent: float, client_ms: float, server: dict[str, float], status: int) -> None:
        if len(self.rows) < MAX_ROWS:
            phases = tuple(server.get(k) for k in ("store", "store_wait", "db", "process", "cpu", "pace"))
            self.rows.append(
                (step, round(sent, 4), round(client_ms, 3), server.get("wait"), server.get("app"), status, *phases)
            )
        else:
            self.dropped += 1

    def save_part(self, out: Path, schedule: dict | None) -> None:
        """This process's records as parts/<pid>.json; `schedule` (scheduled and expected arrivals) from one."""
        (out / PARTS).mkdir(parents=True, exist_ok=True)
        part = {
            "rows": self.rows,
            "arrivals": self.arrivals,
            "outcomes": self.outcomes,
            "dropped": self.dropped,
            "orders": self.orders,
            "problems": self.problems,
        }
        (out / PARTS / f"{os.getpid()}.json").write_text(json.dumps({**part, **(schedule or {})}))
