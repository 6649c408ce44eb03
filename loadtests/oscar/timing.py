"""Server-Timing for the Oscar target: what a shop adds so calibration can read its servers.

Outermost middleware: `app` is the time Django spent on the request (sessions, the view, the database: a
sync worker holds its process throughout), `cpu` the serving process's CPU clock so far with its pid as the
description, the same header the reference shop sends, so `flashsim calibrate --structure` reads the
processes and each endpoint's CPU demand from it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ServerTiming:
    """Django middleware adding `Server-Timing: app;dur=<ms>, cpu;dur=<ms>;desc="<pid>"` to every answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        began = time.perf_counter()
        response = self.get_response(request)
        app = (time.perf_counter() - began) * 1000
        response["Server-Timing"] = f'app;dur={app:.3f}, cpu;dur={time.process_time() * 1000:.3f};desc="{os.getpid()}"'
        return response
