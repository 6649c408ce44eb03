"""Measured against predicted: fit the model to a load test (calibrate) and check it (validate).

A load test directory (flashsim loadtest) holds every request the shoppers made: its journey step,
when it was sent, the client's response time and, where the target sends `Server-Timing`, the time
it waited for a worker (`wait`) and the time a worker spent on it (`app`).

- calibrate: each endpoint's service time is the time a worker spent on it (`app`), or where the
  target sends no timing, what the client saw less any server-side wait (network and HTTP overhead
  then count as service), fitted as a lognormal or gamma by moments, whichever is closer
  (Kolmogorov-Smirnov). A pool's workers are
  read where the pool was saturated (requests waited): busy workers = throughput x time on a worker.
- validate: the model runs the scaled scenario at the arrivals that were measured, and each
  endpoint's throughput and response-time percentiles are compared with the measurement. The model
  has no network: where the target sends timing, each predicted response time has a transport time
  added (the client's time less the server's, network, HTTP and load generator), drawn from those
  measured in the same run, as calibrate leaves transport out of the service time it fits.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from simulator.analysis.loadtest import LoadTestRun, read_meta, saturated_seconds
from simulator.analysis.plateau import Plateau, find_plateau, nonnegative_fit, overlap
from simulator.analysis.replications import simulate
from simulator.distributions import Distribution
from simulator.engine import N_BUCKETS, draw
from simulator.model import Shoppers, curves, load_replay
from simulator.scenario import Scenario, answer_statuses, load_scenario, requests_of, scaled
from simulator.units import format_duration

QUANTILES = (0.50, 0.95, 0.99)
JUDGED = ("throughput", "p95")
"""What validate holds to the tolerance: p50 and p99 are shown but depend on effects the model leaves out."""


@dataclass
class Requests:
    """One journey step's requests as measured: times in seconds, NaN where the target sent no timing."""

    sent: np.ndarray
    client: np.ndarray
    wait: np.ndarray
    app: np.ndarray
    answered: np.ndarray
    """The client got an answer (success, sold out or declined), not an error or a timeout."""
    store: np.ndarray
    """Time awaiting the store (its `store` phase), NaN where not sent."""
    store_wait: np.ndarray
    """The part of `store` queued for the store's connection."""
    db: np.ndarray
    """The part of `store` the store worked on the request (its connection held)."""
    process: np.ndarray
    """The serving process's id, NaN where not sent."""
    cpu: np.ndarray
    """The serving process's CPU time so far, as it answered."""
    pace: np.ndarray
    """The target's reference work's latest time on the serving process's core (its speed), NaN if not sent."""

    def where(self, kept: np.ndarray) -> Requests:
        """The requests `kept` (a boolean mask) selects."""
        return Requests(*(getattr(self, f.name)[kept] for f in fields(Requests)))


def read_requests(directory: Path, scenario: Scenario) -> dict[str, Requests]:
    """requests.csv of a load test, per journey step; answers are classified by the scenario's loadtest section."""
    path = directory / "requests.csv"
    if not path.exists():
        raise ValueError(f"{directory}: no requests.csv; is this a `flashsim loadtest` directory?")
    columns: dict[str, list[list[float]]] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            try:
                if None in row.values() or None in row:  # too few fields, or too many: a truncated or mixed file
                    raise ValueError("not the header's fields")
                values = [
                    float(row["sent_s"]),
                    float(row["client_ms"]) / 1000,
                    _ms(row["server_wait_ms"]),
                    _ms(row["server_ms"]),
                    float(row["status"]),
                    _ms(row.get("store_ms") or ""),
                    _ms(row.get("store_wait_ms") or ""),
                    _ms(row.get("db_ms") or ""),
                    _number(row.get("process") or ""),
                    _ms(row.get("process_cpu_ms") or ""),
                    _ms(row.get("pace_ms") or ""),
                ]
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path}:{reader.line_num}: a request row that cannot be read ({exc})") from None
            columns.setdefault(row["step"], []).append(values)
    steps = scenario.loadtest.steps
    out = {}
    for step, rows in columns.items():
        a = np.array(rows)
        http = getattr(steps, step, None)
        status = a[:, 4].astype(int)
        business = answer_statuses(http)
        answered = ((status >= 200) & (status < 300)) | np.isin(status, sorted(business))
        out[step] = Requests(a[:, 0], a[:, 1], a[:, 2], a[:, 3], answered, *(a[:, k] for k in range(5, 11)))
    return out


def _number(text: str) -> float:
    return float(text) if text not in ("", "None") else math.nan


def _ms(text: str) -> float:
    return _number(text) / 1000


# -- calibrate ---------------------------------------------------------------------------------


@dataclass
class Fit:
    step: str
    samples: int
    service: Distribution
    ks: float
    """Kolmogorov-Smirnov distance between the samples and the fitted distribution."""


def fit_service(samples: np.ndarray, rng: np.random.Generator) -> tuple[Distribution, float]:
    """Lognormal or gamma with the samples' mean and cv, whichever is closer by KS distance."""
    samples = np.sort(samples[np.isfinite(samples) & (samples > 0)])
    if len(samples) < 20:
        raise ValueError(f"{len(samples)} samples: too few to fit a service time (need 20)")
    mean, cv = float(samples.mean()), float(samples.std(ddof=1) / samples.mean())
    best = None
    for kind in ("lognormal", "gamma"):
        dist = Distribution(kind, (mean, cv))
        model = np.sort(dist.sample(rng, 20_000))
        ecdf = np.arange(1, len(samples) + 1) / len(samples)
        ks = float(np.max(np.abs(np.searchsorted(model, samples, side="right") / len(model) - ecdf)))
        if best is None or ks < best[1]:
            best = (dist, ks)
    return best  # type: ignore[return-value]  # set by the loop's first pass


def fitted(dist: Distribution) -> str:
    """A fitted distribution as a scenario writes it, e.g. gamma(40ms, 0.8)."""
    return f"{dist.kind}({format_duration(dist.mean)}, {dist.cv:.3g})"


def worker_overhead(requests: dict[str, Requests]) -> float:
    """Seconds of a worker's time per request outside its app time, for a target whose workers serve one request
    at a time and send no queueing (`wait`) but their process's CPU clock: the median, over each process's
    consecutive answers, of the clock's advance less the later answer's app time (a sync worker accepting,
    parsing, writing and closing the connection, which its app's Server-Timing cannot see). 0 where not sent."""
    every = list(requests.values())
    if any(np.isfinite(r.wait).any() for r in every):
        return 0.0  # the target times its own queueing: its workers are not one-request processes
    process, clock, app = (np.concatenate([getattr(r, k) for r in every]) for k in ("process", "cpu", "app"))
    timed = np.isfinite(process) & np.isfinite(clock) & np.isfinite(app)
    gaps = []
    for pid in np.unique(process[timed]):
        mine = timed & (process == pid)
        order = np.argsort(clock[mine])
        gaps.append(np.diff(clock[mine][order]) - app[mine][order][1:])
    if not gaps or sum(len(g) for g in gaps) < MIN_FITTED:
        return 0.0
    return max(0.0, float(np.median(np.concatenate(gaps))))


TRANSPORT_FLOOR = 5
"""Percentile of the time answers spent outside the app taken as the transport alone (no queueing)."""


def fit_workers(requests: dict[str, Requests], steps: list[str]) -> tuple[int | None, int]:
    """Workers of a pool serving `steps`: (estimate, or None if nothing ever queued; most seen busy at once).

    A request that waited got its worker the moment another left, so when it starts every worker is
    busy: the requests on a worker at those moments count the workers. On a worker means from
    `sent + wait` for `app` seconds (client send times stand in for arrivals at the server). A target that
    sends `app` but no `wait` (a sync worker cannot see the requests queued in its listen backlog) waited
    what its client time exceeds `app` by, less the least any request spent outside the app (TRANSPORT_FLOOR).
    """
    sent = np.concatenate([requests[s].sent for s in steps])
    wait = np.concatenate([requests[s].wait for s in steps])
    app = np.concatenate([requests[s].app for s in steps])
    outside = np.concatenate([requests[s].client for s in steps]) - app
    if np.isfinite(outside).any() and not np.isfinite(wait).any():
        floor = float(np.nanpercentile(outside, TRANSPORT_FLOOR))
        wait = np.maximum(0.0, outside - floor)
    known = np.isfinite(app) & np.isfinite(wait)
    if not known.any():
        return None, 0
    start, end, waited = sent[known] + wait[known], sent[known] + wait[known] + app[known], wait[known]
    ends = np.sort(end)
    starts = np.sort(start)
    busy = np.searchsorted(starts, start, side="right") - np.searchsorted(ends, start, side="right")
    lower = int(busy.max())
    queued = waited > max(0.001, 0.05 * float(np.median(app[known])))
    if queued.sum() < 10:
        return None, lower
    return int(round(float(np.median(busy[queued])))), lower


CONNECTION_WINDOW = 0.1
"""Seconds per window in which the store's busy connections are counted (fit_connections)."""


def fit_connections(requests: dict[str, Requests], steps: list[str]) -> int | None:
    """The store's connections (all processes'), read where requests queued for one: in a window where most
    answers had waited for a connection, every connection was busy, and by Little's law they number the time
    held over the window. None where too few queued (then no limit shows)."""
    done = np.concatenate([requests[s].sent + requests[s].client for s in steps])
    db = np.concatenate([requests[s].db for s in steps])
    wait = np.concatenate([requests[s].store_wait for s in steps])
    known = np.isfinite(db) & np.isfinite(wait)
    if known.sum() < 100:
        return None
    done, db, wait = done[known], db[known], wait[known]
    queued = wait > max(0.001, float(np.median(db)))
    window = ((done - done.min()) / CONNECTION_WINDOW).astype(int)
    answers = np.bincount(window)
    busy = np.bincount(window, weights=db) / CONNECTION_WINDOW
    crowded = (answers >= 10) & (np.bincount(window, weights=queued) >= 0.5 * answers)
    if crowded.sum() < 5:
        return None
    return max(1, int(round(float(np.median(busy[crowded])))))


HELD_FLOOR = 0.010
"""A store's time held (its 90th percentile) beyond this and HELD_RATIO times its quickest: the wait for the
event loop is in it."""
HELD_RATIO = 5.0
CPU_HELD = 0.5
"""Share of an endpoint's CPU run holding the store's connection where it is held across the event loop: the
reply's reading and what follows in the same turn of the loop. An assumption: the clocks give the total only."""


def held_across_the_loop(db: np.ndarray) -> bool:
    """Whether the store's connections were held while their requests waited for the event loop: the time held
    grows with the load far beyond the store's own (a Redis client reading replies on the loop), where a store
    on a thread of its own (SQLite's) holds its connection for its work alone."""
    db = db[np.isfinite(db)]
    return len(db) >= 100 and float(np.quantile(db, 0.9)) >= max(HELD_FLOOR, HELD_RATIO * float(np.quantile(db, 0.05)))


@dataclass
class CpuDemand:
    """What the processes' CPU clocks tell: processes, each endpoint's CPU per request, CPU spent idle."""

    processes: int
    per_request: dict[str, float]
    """Seconds of CPU per request, by endpoint."""
    idle: float
    """CPU seconds per second a process spends with nothing to answer (timers, housekeeping)."""
    mean: float
    """Mean CPU seconds per request, all endpoints."""
    reference: float | None = None
    """The reference work's median time on the cores over the run (None: not sent); the demands are at it: each
    window of answers is weighed by how much slower than it the cores ran then."""
    wake: float = 0.0
    """CPU seconds a request pays beyond its demand when it finds its process idle (the loop waking)."""


WINDOW = 40
"""Answers per window in the CPU regression: each window's CPU is the sum of its requests' demands."""
MIN_FITTED = 100
"""Requests an endpoint needs to have its CPU demand fitted on its own; rarer ones are priced from a kin."""


def cpu_demands(requests: dict[str, Requests]) -> CpuDemand | None:
    """Each endpoint's CPU demand from the processes' CPU clocks sent with each answer, or None where the
    target sends none. A process's clock advances over a window of its answers by the demands of the requests
    answered, a wake-up for each that found the process idle, and its idle CPU over the window's time: a
    non-negative least-squares fit over all windows.
    An endpoint seen too rarely to fit takes the demand of its most frequent kin (one that also awaits the
    store, or one that does not) plus what its handler spends beyond the kin's when the server is idle (at most
    the kin's demand again: one seen only in a surge reads its handler's time long)."""
    steps = list(requests)
    reference = reference_pace(requests)
    windows = _windows(requests, reference)
    if windows is None:
        return None
    data, mean, pids = windows
    counts = {s: len(r.sent) for s, r in requests.items()}
    fitted_steps = [i for i, s in enumerate(steps) if counts[s] >= MIN_FITTED]
    groups = _inseparable(data[:, fitted_steps], fitted_steps)
    woken = data[:, len(steps)].sum() / data[:, : len(steps)].sum()
    wake = data[:, len(steps)] if WAKE_SEEN <= woken <= 1 - WAKE_SEEN else np.zeros(len(data))  # else unseen: 0
    columns = [data[:, group].sum(axis=1) for group in groups] + [wake, data[:, len(steps) + 1]]
    coef = nonnegative_fit(np.column_stack(columns), data[:, -1])  # groups' demands, the wake-up, the idle CPU
    own = {s: _idle_handler_time(r) for s, r in requests.items()}
    per_request = {}
    for group, group_mean in zip(groups, coef):
        # a group's coefficient is its requests' mean demand; each differs from it as its handler's own time
        # differs (the product page renders where the token does not), never below a tenth of the mean
        centre = float(np.mean([own[steps[i]] for i in group]))
        for i in group:
            per_request[steps[i]] = max(group_mean + own[steps[i]] - centre, 0.1 * group_mean)
    awaits_store = {s: bool(np.isfinite(r.store).any()) for s, r in requests.items()}
    for s in steps:
        if s in per_request:
            continue
        kin = [f for f in per_request if awaits_store[f] == awaits_store[s] and per_request[f] > 0]
        if kin:
            ref = max(kin, key=counts.__getitem__)
            # at most the kin's demand again: an endpoint seen only in a surge reads its handler's time long
            extra = min(max(0.0, own[s] - own[ref]), per_request[ref])
            per_request[s] = per_request[ref] + extra
        else:
            per_request[s] = mean
    runs = Counter(int(pid // PROCESS_SPACE) for pid in pids)  # several runs read as one: their processes apart
    processes = max(runs.values())
    return CpuDemand(processes, {s: per_request[s] for s in steps}, float(coef[-1]), mean, reference, float(coef[-2]))


SHARED_WINDOW = 0.25
"""Seconds per window in which the processes' CPU rates are summed (shared_cores)."""
SHARED_CROWD = 2.0
"""Requests a process holds in service on average over a window to count as wanting a core all of it."""
MIN_SHARED = 4
"""Windows with processes crowded at once needed to read the cores they shared."""
WHOLE = 0.15
"""The crowded processes' summed CPU rate must be within this share of a whole number of cores."""


def shared_cores(requests: dict[str, Requests]) -> int | None:
    """The cores the target's processes shared, where their CPU clocks show fewer cores than processes: over
    windows in which two or more processes each held several requests in service (each wanting a core the
    whole window), their CPU rates summed to a whole number of cores below their count. None where they were
    never crowded at once, or their rates show a core each (or nothing whole: a wait elsewhere, the store's)."""
    every = list(requests.values())
    process = np.concatenate([r.process for r in every])
    clock = np.concatenate([r.cpu for r in every])
    sent, done = np.concatenate([r.sent for r in every]), np.concatenate([r.sent + r.client for r in every])
    timed = np.isfinite(process) & np.isfinite(clock)
    if not timed.any():
        return None
    edges = np.arange(0.0, float(done[timed].max()) + SHARED_WINDOW, SHARED_WINDOW)
    rates, crowds = [], []
    for pid in np.unique(process[timed]):
        mine = timed & (process == pid)
        order = np.argsort(done[mine])
        at_edges = np.interp(edges, done[mine][order], clock[mine][order], left=np.nan, right=np.nan)
        rates.append(np.diff(at_edges) / SHARED_WINDOW)
        crowds.append(overlap(sent[process == pid], done[process == pid], edges) / SHARED_WINDOW)
    rate, crowded = np.array(rates), np.array(crowds) >= SHARED_CROWD
    contended = (crowded.sum(axis=0) >= 2) & np.isfinite(np.where(crowded, rate, 0.0)).all(axis=0)
    if contended.sum() < MIN_SHARED:
        return None
    summed = np.where(crowded, rate, 0.0)[:, contended].sum(axis=0)
    wanting = float(np.median(crowded[:, contended].sum(axis=0)))
    used = float(np.median(summed))
    cores = round(used)
    return cores if 1 <= cores < wanting and abs(used - cores) <= WHOLE * cores else None


def _windows(requests: dict[str, Requests], reference: float | None) -> tuple[np.ndarray, float, set] | None:
    """Each process's answers in order of its CPU clock, in windows of WINDOW: per window, the requests of each
    endpoint and those that found the process idle (both weighed by how much slower than the reference the
    core ran), the time elapsed and the CPU used; with the mean CPU per request and the processes seen.
    None where the clocks cover fewer than 100 requests."""
    rows, used, served, pids = [], 0.0, 0, set()
    for pid in np.unique(np.concatenate([r.process[np.isfinite(r.process)] for r in requests.values()])):
        clock, done, step, pace, sent = [], [], [], [], []
        for i, r in enumerate(requests.values()):
            mine = (r.process == pid) & np.isfinite(r.cpu)
            sent.append(r.sent[mine])
            clock.append(r.cpu[mine])
            done.append(r.sent[mine] + r.client[mine])
            step.append(np.full(int(mine.sum()), i))
            pace.append(r.pace[mine])
        order = np.argsort(np.concatenate(clock), kind="stable")
        c, t, k, p, sent_at = (np.concatenate(a)[order] for a in (clock, done, step, pace, sent))
        if len(c) < 2:
            continue
        # found the process idle: none of its other requests sent and not yet answered (as the client saw them)
        woke = np.searchsorted(np.sort(sent_at), sent_at, "left") - np.searchsorted(np.sort(t), sent_at, "right") <= 0
        pids.add(pid)
        used += float(c[-1] - c[0])
        served += len(c) - 1
        for a in range(0, len(c) - 1, WINDOW):
            b = min(a + WINDOW, len(c) - 1)
            mix = np.bincount(k[a + 1 : b + 1], minlength=len(requests))
            paced = p[a + 1 : b + 1]
            slower = float(np.nanmean(paced)) / reference if reference and np.isfinite(paced).any() else 1.0
            wakes = float(woke[a + 1 : b + 1].sum())
            rows.append((*(mix * slower), wakes * slower, max(float(t[b] - t[a]), 0.0), float(c[b] - c[a])))
    if served < 100:
        return None
    return np.array(rows), used / served, pids


def reference_pace(requests: dict[str, Requests]) -> float | None:
    """The median time of the target's reference work over the answers that carried it (the cores' speed
    where the requests were served, answer by answer: a busy second weighs as its answers), or None."""
    pace = np.concatenate([r.pace for r in requests.values()])
    pace = pace[np.isfinite(pace) & (pace > 0)]
    return float(np.median(pace)) if len(pace) else None


WAKE_SEEN = 0.2
"""Share of the requests that must find their process idle, and busy, for the wake-up to be told apart from
the demands (at light load nearly every request wakes the loop: the two are one); else it is left at 0."""
INSEPARABLE = 0.95
"""Correlation of two endpoints' counts over the windows above which their demands are fitted as one."""


def _inseparable(counts: np.ndarray, steps: list[int]) -> list[list[int]]:
    """The endpoints grouped where their counts move together window by window (every shopper asks for a
    token and then the page at once): the fit sees only their sum, so it is fitted as one."""
    groups: list[list[int]] = []
    for j, step in enumerate(steps):
        for group in groups:
            first = steps.index(group[0])
            if np.std(counts[:, j]) and np.std(counts[:, first]):
                if np.corrcoef(counts[:, j], counts[:, first])[0, 1] > INSEPARABLE:
                    group.append(step)
                    break
        else:
            groups.append([step])
    return groups


def _idle_handler_time(r: Requests) -> float:
    """The handler's own time when the server was idle: the 5th percentile outside the store and of the store's
    work (its mean would hold, with a Redis client, the wait for the event loop to read the reply)."""
    outside = r.app - np.nan_to_num(r.store, nan=0.0)
    return sum(float(np.quantile(a, 0.05)) for a in (outside[np.isfinite(outside)], r.db[np.isfinite(r.db)]) if len(a))


UNLIMITED_WORKERS = 100_000
"""Workers of a pool whose requests never queued for one (an asynchronous server without a slot limit)."""
STRUCTURE_POOL = "server"
"""The pool a structural calibration puts every endpoint on: the target's processes, no slot limit."""
CPU_CV = 0.5
"""Coefficient of variation given to fitted CPU demands. A load test gives each endpoint's mean demand, not
its spread; the queue of a first-come-first-served core grows with it (Pollaczek-Khinchine): an assumption."""


def calibrate_structure(
    requests: dict[str, Requests], scenario: Scenario, cpu: CpuDemand, rng: np.random.Generator
) -> tuple[dict[str, str | int | None], list[str]]:
    """An overlay giving the target's structure: its processes, each endpoint's CPU demand on them (served
    first come, first served, as an event loop runs its ready work), and the store's connection (one per
    process) with each endpoint's time in the store; notes name the bottleneck."""
    steps = [s for s in ("token", *(s for s, _ in scenario.system.endpoints.items())) if s in requests]
    counts = {s: len(requests[s].sent) for s in steps}
    total = sum(counts.values())
    dbs = {s: requests[s].db[np.isfinite(requests[s].db)] for s in steps}
    processes = cpu.processes
    cores = shared_cores(requests) if processes > 1 else None
    workers, _ = fit_workers(requests, steps)  # a limit on requests served at once, where requests queued for one
    overlay: dict[str, str | int | None] = {
        f"system.pools.{STRUCTURE_POOL}.workers": workers if workers is not None else UNLIMITED_WORKERS,
        f"system.pools.{STRUCTURE_POOL}.processes": processes,
        f"system.pools.{STRUCTURE_POOL}.cpu_order": "fifo",
        f"system.pools.{STRUCTURE_POOL}.cpu_wake": format_duration(cpu.wake),
    }
    if cores is not None:
        overlay[f"system.pools.{STRUCTURE_POOL}.cores"] = cores
    if cpu.reference is not None:
        overlay[f"system.pools.{STRUCTURE_POOL}.cpu_reference"] = format_duration(cpu.reference)
    notes = [
        f"{processes} server process(es)"
        + (f" sharing {cores} core(s) (busy at once, their CPU clocks summed to {cores})" if cores else "")
        + f", {format_duration(cpu.mean)} of CPU per request on average, "
        f"{format_duration(cpu.wake)} more for one that finds its process idle, {cpu.idle:.1%} of a core when idle; "
        + (f"{workers} requests served at once" if workers is not None else "no limit seen on requests served at once")
    ]
    capacity = cores or processes  # cores' worth of CPU
    has_store = any(np.isfinite(requests[s].store_wait).any() for s in steps)
    connections, held = None, False
    if has_store:
        connections = fit_connections(requests, steps)
        overlay["system.connections.store.size"] = connections or UNLIMITED_WORKERS
        notes.append(
            f"the store: {connections} connection(s) busy where requests queued for one"
            if connections
            else "the store: no request queued for a connection, so no limit is read on them"
        )
        held = held_across_the_loop(np.concatenate([dbs[s] for s in steps]))
        if held:
            notes.append(
                "the store's connections stay taken while their requests wait for the event loop (an asynchronous "
                "client reads its reply there): half of each endpoint's CPU is run holding the connection (cpu_held, "
                "an assumption), the time held besides is the store's at its quickest (5th percentile)"
            )
    db_load = 0.0
    for s in steps:
        db = dbs[s]
        demand = cpu.per_request[s]
        prefix = f"system.endpoints.{s}"
        overlay[f"{prefix}.pool"] = STRUCTURE_POOL
        overlay[f"{prefix}.service"] = "0s"
        share = CPU_HELD if held and len(db) else 0.0  # of the demand, run holding the store's connection
        overlay[f"{prefix}.cpu"] = f"gamma({format_duration(max(demand * (1 - share), 1e-6))}, {CPU_CV})"
        if share:
            overlay[f"{prefix}.cpu_held"] = f"gamma({format_duration(max(demand * share, 1e-6))}, {CPU_CV})"
        if s == "token" and scenario.system.endpoints.token is None:
            overlay[f"{prefix}.timeout"] = None  # the load test asks for its token without a timeout
        if has_store and len(db):
            overlay[f"{prefix}.connection"] = "store"
            if held:  # the time held holds the loop's queue: the store's own is its quickest
                db = db[db <= np.quantile(db, 0.05)]
                overlay[f"{prefix}.db"] = format_duration(max(float(db.mean()), 1e-6))
            else:
                try:
                    dist, _ = fit_service(db, rng)
                    overlay[f"{prefix}.db"] = fitted(dist)
                except ValueError:
                    overlay[f"{prefix}.db"] = format_duration(max(float(db.mean()), 1e-6))
            db_load += counts[s] * float(db.mean())
        notes.append(
            f"{s}: CPU {format_duration(demand)} per request"
            + (f", store {format_duration(float(db.mean()))}" if len(db) else "")
        )
    span = max(float(r.sent.max()) for r in requests.values()) - min(float(r.sent.min()) for r in requests.values())
    if span > 0:
        cpu_use = sum(counts[s] * cpu.per_request[s] for s in steps) / (capacity * span)
        store_use = db_load / ((connections or processes) * span)
        bottleneck = "the CPU" if cpu_use >= store_use else "the store's connection"
        notes.append(
            f"bottleneck: {bottleneck} (busy {max(cpu_use, store_use):.0%} on average over the run; CPU "
            f"{cpu_use:.0%}, store {store_use:.0%}); the CPU saturates at {capacity / cpu.mean:,.0f} requests/s "
            f"({total / span:,.0f}/s measured on average)"
        )
    return overlay, notes


RUN_GAP = 10.0
"""Seconds between load tests read one after another as one (see read_runs)."""


def read_runs(directories: list[Path], scenario: Scenario) -> dict[str, Requests]:
    """Several load tests' requests as one run: each after the one before on the clock (RUN_GAP apart) and
    with process ids of its own, so that concurrency and CPU clocks are read within each run."""
    merged: dict[str, list[Requests]] = {}
    offset = 0.0
    for k, directory in enumerate(directories):
        requests = read_requests(directory, scenario)
        for step, r in requests.items():
            merged.setdefault(step, []).append(replace(r, sent=r.sent + offset, process=r.process + k * PROCESS_SPACE))
        offset += max(float((r.sent + r.client).max()) for r in requests.values()) + RUN_GAP
    return {
        step: Requests(*(np.concatenate([getattr(r, f.name) for r in parts]) for f in fields(Requests)))
        for step, parts in merged.items()
    }


PROCESS_SPACE = 1e7
"""Added to a later run's process ids (times its rank) so that no two runs share one."""


def calibrate(
    directory: Path | list[Path], scenario: Scenario, seed: int = 0, structure: bool = False
) -> tuple[dict[str, str | int | None], list[str]]:
    """An overlay (path -> value) fitting the scenario's endpoints and pools to a load test (or several, read
    as one: read_runs), and notes: each endpoint's service time and each pool's workers, or with `structure`
    the target's structure read from the CPU clocks and store phases it sends (`calibrate_structure`;
    ValueError where it sends none)."""
    directories = directory if isinstance(directory, list) else [directory]
    requests = read_runs(directories, scenario)
    directory = directories[0]
    rng = np.random.default_rng(seed)
    if structure:
        measured = cpu_demands(requests)
        if measured is None:
            raise ValueError(
                f"{directory}: the target sent no CPU clocks (Server-Timing cpu;dur=...;desc=PID), so its "
                "structure cannot be read; calibrate without --structure"
            )
        overlay, notes = calibrate_structure(requests, scenario, measured, rng)
    else:
        overlay, notes = calibrate_service(requests, scenario, rng)
    for step, _ in scenario.system.endpoints.items():  # the mapping's steps of several requests, as the model's
        if (n := len(requests_of(getattr(scenario.loadtest.steps, step, None)))) > 1:
            overlay[f"system.endpoints.{step}.requests"] = n
            notes.append(f"{step}: {n} requests in a row, each its own visit (the service fitted is one request's)")
    return overlay, notes


def calibrate_service(
    requests: dict[str, Requests], scenario: Scenario, rng: np.random.Generator
) -> tuple[dict[str, str | int | None], list[str]]:
    """Each endpoint's service time from its answers, each pool's workers from where requests queued, and a
    lock where the answers show a throughput plateau."""
    overlay: dict[str, str | int | None] = {}
    notes = []
    outside = worker_overhead(requests)
    if outside > 0:
        notes.append(
            f"each request holds its worker {format_duration(outside)} besides its app time (the processes' CPU "
            "clocks between answers, less the app time: the server's own HTTP work, which Server-Timing cannot see)"
        )
    for step, _ in scenario.system.endpoints.items():
        r = requests.get(step)
        if r is None or not r.answered.any():
            notes.append(f"{step}: no answered requests measured; service time left as it is")
            continue
        app, client = r.app[r.answered], r.client[r.answered] - np.nan_to_num(r.wait[r.answered], nan=0.0)
        service = np.where(np.isfinite(app), app + outside, client)
        try:
            dist, ks = fit_service(service, rng)
        except ValueError as exc:
            notes.append(f"{step}: {exc}; service time left as it is")
            continue
        text = fitted(dist)
        overlay[f"system.endpoints.{step}.service"] = text
        notes.append(f"{step}: service {text} from {len(service):,} requests (KS distance {ks:.3f})")
        if not np.isfinite(app).all():
            untimed = int((~np.isfinite(app)).sum())
            notes.append(
                f"{step}: {untimed:,} answers carried no Server-Timing; their service is the client's time, "
                "network and queueing included, so it reads long"
            )
    for pool, spec in scenario.system.pools.items():
        steps = [s for s, e in scenario.system.endpoints.items() if e.pool == pool and s in requests]
        if not steps:
            continue
        workers, lower = fit_workers(requests, steps)
        if workers is None:
            notes.append(
                f"{pool}: never saturated, so its workers cannot be read (at least {lower} were busy "
                f"at once); left at {spec.workers}"
            )
        else:
            overlay[f"system.pools.{pool}.workers"] = workers
            notes.append(f"{pool}: {workers} workers (busy where requests queued)")
    steps = [s for s, _ in scenario.system.endpoints.items() if s in requests]
    if (plateau := find_plateau(requests, steps)) is not None:
        lock_overlay, lock_notes = lock_from_plateau(plateau, requests, rng)
        overlay.update(lock_overlay)
        notes += lock_notes
    return overlay, notes


PLATEAU_LOCK = "plateau"
"""The lock a calibration adds where the answers show a throughput plateau (plateau.py)."""


def lock_from_plateau(
    plateau: Plateau, requests: dict[str, Requests], rng: np.random.Generator
) -> tuple[dict[str, str | int | None], list[str]]:
    """The overlay modelling a plateau as a lock: each endpoint waiting for it holds it for its hold, and its
    service is its time in the server alone less the hold (its fitted service read long: the waits were in it)."""
    overlay: dict[str, str | int | None] = {f"system.locks.{PLATEAU_LOCK}.per_sku": False}
    notes = [plateau.describe()]
    for step in plateau.users:
        hold, alone = plateau.holds[step], plateau.alone[step]
        prefix = f"system.endpoints.{step}"
        overlay[f"{prefix}.lock"] = PLATEAU_LOCK
        overlay[f"{prefix}.hold"] = format_duration(hold)
        try:
            dist, _ = fit_service(alone - hold, rng)
            overlay[f"{prefix}.service"] = fitted(dist)
            notes.append(f"{step}: holds the lock {format_duration(hold)}, service {fitted(dist)} besides")
        except ValueError:  # seldom or never answered alone: all its time was spent waiting, as far as one can tell
            overlay[f"{prefix}.service"] = "0s"
            notes.append(
                f"{step}: holds the lock {format_duration(hold)}; answered alone {len(alone)} time(s), too few "
                "to read its time besides the lock: taken as none"
            )
    bottleneck = max(plateau.users, key=lambda s: plateau.holds[s] * len(requests[s].sent))
    notes.append(
        f"bottleneck: the lock (a throughput plateau): {bottleneck} alone saturates it at "
        f"{1 / plateau.holds[bottleneck]:,.0f} requests/s"
        if plateau.holds[bottleneck]
        else "bottleneck: the lock"
    )
    return overlay, notes


# -- validate ----------------------------------------------------------------------------------


MIN_JUDGED = 30
"""Requests measured a step needs for its figures to be judged: the p95 of fewer is one or two requests."""


NOISE_SDS = 2.0
"""A judged figure beyond the tolerance but within this many of the model's run-to-run standard deviations
of the measured one is noise, not a miss: were the model right, one run would land that far from its mean
about one time in twenty. A sale's few units go to the quickest few shoppers, so a count such as the orders
created can differ by a third from one run to the next: no single run judges it to 15%."""


@dataclass
class Row:
    step: str
    measured: dict[str, float | None]
    predicted: dict[str, float | None]
    count: int = MIN_JUDGED
    """Requests measured."""
    noise: dict[str, float] = field(default_factory=dict)
    """Per judged figure, how far the measured one (one run's, or the mean of several runs') would stray from
    the predicted mean were the model right (a standard deviation: the replications' spread over the runs, plus
    the mean's own uncertainty); none with one replication."""

    @property
    def judged(self) -> bool:
        """Measured often enough to be held to the tolerance (MIN_JUDGED)."""
        return self.count >= MIN_JUDGED

    def verdict(self, key: str, tolerance: float) -> str:
        """The figure's judgement: ok, noise (beyond the tolerance, within NOISE_SDS of the model's run-to-run
        spread), FAIL; (few) for a judged figure measured too seldom; empty for a figure only shown."""
        if key not in JUDGED:
            return ""
        if not self.judged:
            return "(few)"
        error = self.error(key)
        if error is None or abs(error) <= tolerance:
            return "" if error is None else "ok"
        m, p = self.measured[key], self.predicted[key]
        gap = abs(p - m) if m is not None and p is not None else math.inf
        return "noise" if gap <= NOISE_SDS * self.noise.get(key, 0.0) else "FAIL"

    def error(self, key: str) -> float | None:
        """(predicted - measured) / measured; infinite when only the model saw traffic."""
        m, p = self.measured.get(key), self.predicted.get(key)
        if m is None or p is None:
            return None
        if m == 0:
            return None if p == 0 else math.inf
        return (p - m) / m


JUDGED_OUTCOMES = ("bought", "sold_out", "gave_up", "error_rate")
"""Shares of the shoppers (and of the requests, for the error rate) validate holds to the tolerance."""
SMALL_SHARE = 0.02
"""An outcome's share is within the tolerance when within this many points of the measured, however small."""


@dataclass
class Share:
    """One outcome as a share of the shoppers (the error rate: of the requests), measured and predicted."""

    name: str
    measured: float
    predicted: float

    def within(self, tolerance: float) -> bool:
        """Within the tolerance, relative, or within SMALL_SHARE points."""
        gap = abs(self.predicted - self.measured)
        return gap <= SMALL_SHARE or gap <= tolerance * self.measured


@dataclass
class Validation:
    rows: list[Row]
    tolerance: float
    arrivals: tuple[int, float]
    """(measured, expected by the scaled curve) shoppers over the run."""
    measured_latency: dict[str, np.ndarray]
    predicted_latency: dict[str, np.ndarray]
    """Sorted draws of the response times the model predicts a client sees, transport included."""
    transport: dict[str, float | None]
    """Median transport time per step (client less server), None where the target sent no timing."""
    generator_saturated: float | None = None
    """Seconds the load generator ran saturated (None: not sampled): measured times there include its queue."""
    shares: list[Share] = field(default_factory=list)
    """The shoppers' outcomes and the error rate, where the load test recorded outcomes."""
    replayed: bool = False
    """Whether the model was visited by the load test's own shoppers (replayed_shoppers), not drawn ones."""
    runs: int = 1
    """Load tests of one replay measured as one."""
    slower: float | None = None
    """How much slower the target's cores ran than when its CPU demands were calibrated (the reference work's
    median time, here over there; the model follows it second by second); None where not measured."""
    measured_series: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    predicted_series: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """Per step, per second of the run: `answered`, `errors` and `in_flight` (requests sent, not yet answered)."""

    @property
    def passed(self) -> bool:
        return all(r.verdict(k, self.tolerance) != "FAIL" for r in self.rows for k in JUDGED) and all(
            share.within(self.tolerance) for share in self.shares
        )


def measured_scenario(
    scenario_path: Path, directory: Path, overlays: tuple[Path, ...] = ()
) -> tuple[Scenario, LoadTestRun, int, float]:
    """The scaled scenario the load test ran, with its audience set to the arrivals that were measured."""
    meta = read_meta(directory)
    loaded = load_scenario(scenario_path, meta.overrides, overlays=(*meta.overlays, *overlays))
    if (
        Path(meta.scenario).exists()
        and (replayed := load_scenario(meta.scenario, meta.overrides, overlays=meta.overlays).name) != loaded.name
    ):
        raise ValueError(
            f"{directory}: the load test replayed scenario {replayed!r} ({meta.scenario}), not {loaded.name!r}; "
            "validate a load test against the scenario it replayed"
        )
    base = scaled(loaded, meta.scale, meta.speedup)
    horizon = min(meta.run_time, base.clock.horizon)
    seen, expected = _arrivals(directory)
    if expected <= 0 or seen == 0:
        raise ValueError(f"{directory}: no shoppers arrived during the load test; nothing to compare")
    cut = base.model_copy(update={"clock": base.clock.model_copy(update={"horizon": horizon})})
    in_run = sum(c.expected_between(0.0, horizon) for c in curves(cut))  # a flat curve spreads over the horizon
    size = max(1, round(base.audience.size * seen / in_run))
    scenario = cut.model_copy(update={"audience": base.audience.model_copy(update={"size": size})})
    return scenario, meta, seen, expected


def _arrivals(directory: Path) -> tuple[int, float]:
    with open(directory / "arrivals.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return sum(int(r["arrivals"]) for r in rows), sum(float(r["expected"]) for r in rows)


def validate(
    scenario_path: Path,
    directory: Path | list[Path],
    tolerance: float = 0.15,
    replications: int = 5,
    overlays: tuple[Path, ...] = (),
) -> Validation:
    """Run the model at the measured load; per endpoint, predicted against measured. Several load tests of
    one replay are measured as one: their requests pooled, their counts averaged (a surer measure of the tails,
    which move from run to run on a shared machine)."""
    directories = directory if isinstance(directory, list) else [directory]
    runs = [measured_scenario(scenario_path, d, overlays) for d in directories]
    scenario, meta, seen, expected = runs[0]
    replay = (meta.scale, meta.speedup, meta.run_time, meta.overrides, meta.overlays)
    for d, (_, theirs, _, _) in zip(directories[1:], runs[1:]):
        if (theirs.scale, theirs.speedup, theirs.run_time, theirs.overrides, theirs.overlays) != replay:
            raise ValueError(
                f"{d}: it replayed scale {theirs.scale:g}, speedup {theirs.speedup:g}, {theirs.run_time:g} s, "
                f"{list(theirs.overrides)}; {directories[0]} replayed {meta.scale:g}, {meta.speedup:g}, "
                f"{meta.run_time:g} s, {list(meta.overrides)}: validate runs of one replay together"
            )
    horizon = scenario.clock.horizon
    k = len(directories)
    requests = pooled(
        [{step: answered_by(r, horizon) for step, r in read_requests(d, scenario).items()} for d in directories]
    )
    scenario, slower = at_measured_pace(scenario, requests)
    counts = [run[2] for run in runs]
    shoppers = replayed_shoppers(scenario_path, meta, seen) if len(set(counts)) == 1 else None
    result = simulate(scenario, replications=replications, shoppers=shoppers)
    rng = np.random.default_rng(scenario.seed)
    generator = [t for t in map(saturated_seconds, directories) if t is not None]
    validation = Validation(
        [], tolerance, (round(np.mean(counts)), expected), {}, {}, {}, max(generator) if generator else None
    )
    validation.slower = slower
    validation.replayed = shoppers is not None
    validation.runs = k
    every = [transport_times(r) for r in requests.values()]
    floor = float(np.median(np.concatenate(every))) if any(len(t) for t in every) else 0.0
    for step, ep in scenario.system.endpoints.items():
        r = requests.get(step)
        hist = [sum(rep["endpoints"][step]["hist"][b] for rep in result.replications) for b in range(N_BUCKETS)]
        served = sum(rep["endpoints"][step]["served"] for rep in result.replications) / len(result.replications)
        latency = np.sort(r.client[r.answered]) if r is not None else np.array([])
        transport = transport_times(r) if r is not None else np.array([])
        if len(transport) and ep.cpu is not None:
            # the model queues for the process's CPU itself, and that queue is most of what clients wait
            # beyond the handler on a busy server: only the network's floor is left to add, no more than
            # all requests' median (a step sent only while the server was busy never saw the floor)
            transport = np.array([min(np.quantile(transport, NETWORK_FLOOR), floor)])
        predicted = np.sort(_client_times(hist, transport, DRAWS, rng))
        row = Row(
            step,
            {"throughput": len(latency) / horizon / k, **_quantiles(latency)},
            {"throughput": served / horizon, **_quantiles(predicted)},
            len(latency),
        )
        row.noise = run_to_run(step, result.replications, transport, horizon, rng, k)
        validation.rows.append(row)
        validation.measured_latency[step] = latency
        validation.predicted_latency[step] = predicted
        validation.transport[step] = float(np.median(transport)) if len(transport) else None
        seconds = math.ceil(horizon)
        if r is not None:
            validation.measured_series[step] = {name: v / k for name, v in measured_series(r, seconds).items()}
        validation.predicted_series[step] = {
            name: np.mean([np.add.reduce([rep["endpoints"][step]["series"][k][:seconds] for k in keys])
                           for rep in result.replications], axis=0)
            for name, keys in (("answered", ["served"]), ("errors", ["rejected", "timed_out"]),
                               ("in_flight", ["in_flight"]))
        }  # fmt: skip
    validation.shares = outcome_shares(directories, requests, result.replications)
    return validation


def _client_times(hist: list[int], transport: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` response times a client would see: the model's times in the server (histogram) plus transport."""
    if not sum(hist):
        return np.array([])
    return draw(hist, n, rng) + (rng.choice(transport, n) if len(transport) else 0.0)


def run_to_run(
    step: str, replications: list[dict], transport: np.ndarray, horizon: float, rng: np.random.Generator, runs: int = 1
) -> dict[str, float]:
    """Per judged figure, the standard deviation the mean of `runs` load tests' would have about the
    replications' mean: their spread over the runs, and the mean's own uncertainty (Row.noise)."""
    if len(replications) < 2:
        return {}
    each = [rep["endpoints"][step] for rep in replications]
    p95 = [np.quantile(t, 0.95) for e in each if len(t := _client_times(e["hist"], transport, DRAWS // 10, rng))]
    figures = {"throughput": [e["served"] / horizon for e in each], "p95": p95}
    return {
        key: float(np.std(values, ddof=1) * math.sqrt(1 / runs + 1 / len(values)))
        for key, values in figures.items()
        if len(values) >= 2
    }


def replayed_shoppers(scenario_path: Path, meta: LoadTestRun, seen: int) -> Shoppers | None:
    """The shoppers the load test sent (their arrival times and intentions, as its replay drew them), or None
    where it did not send them all. The model visited by the very shoppers the target was sees the same
    surge: with a few hundred shoppers, how they happened to bunch up moves the tails by 2x from one draw to
    the next, and a comparison with another draw would judge that luck, not the model."""
    try:
        replay = load_replay(
            str(scenario_path), meta.scale, meta.speedup, meta.run_time, math.inf, meta.overrides, meta.overlays
        )
    except ValueError:
        return None
    return replay.shoppers if len(replay.shoppers.time) == seen else None


def pooled(runs: list[dict[str, Requests]]) -> dict[str, Requests]:
    """Several load tests' requests of one replay together, on the replay's one clock."""
    steps = dict.fromkeys(step for run in runs for step in run)
    return {
        step: Requests(
            *(np.concatenate([getattr(run[step], f.name) for run in runs if step in run]) for f in fields(Requests))
        )
        for step in steps
    }


def answered_by(r: Requests, horizon: float) -> Requests:
    """The requests answered (or failed) before the horizon, as the model counts its own: the load generator
    lets its shoppers run a few seconds past the run's end (Locust's stop timeout), and their requests,
    compared with a model that stopped, would read as throughput the model misses."""
    return r.where(r.sent + r.client < horizon)


def at_measured_pace(scenario: Scenario, requests: dict[str, Requests]) -> tuple[Scenario, float | None]:
    """The scenario with its cores at the pace measured in the run: each pool whose CPU demands were calibrated
    at a reference work's time (cpu_reference) gets the time it took here second by second (cpu_pace), so the
    model's cores slow down and speed up as the target's did; and the run's median pace over the reference
    (None where no pool gives a reference or the run measured no pace)."""
    system = scenario.system
    pools = [name for name, pool in system.pools.items() if pool.cpu_reference is not None]
    median = reference_pace(requests)
    if median is None or not pools:
        return scenario, None
    done = np.concatenate([r.sent + r.client for r in requests.values()])
    pace = np.concatenate([r.pace for r in requests.values()])
    known = np.isfinite(pace) & (pace > 0)
    seconds = max(1, math.ceil(scenario.clock.horizon))
    per_second = [math.nan] * seconds
    second = np.clip(done[known].astype(int), 0, seconds - 1)
    for s in np.unique(second):
        per_second[s] = float(np.median(pace[known][second == s]))
    held = median  # a second without answers keeps the pace of the last one that had some (the median before)
    for s in range(seconds):
        held = per_second[s] = held if math.isnan(per_second[s]) else per_second[s]
    paced = {name: system.pools[name].model_copy(update={"cpu_pace": per_second}) for name in pools}
    updated = system.model_copy(update={"pools": {**system.pools, **paced}})
    factor = median / system.pools[pools[0]].cpu_reference  # type: ignore[operator]  # pools have a reference
    return scenario.model_copy(update={"system": updated}), factor


def measured_series(r: Requests, seconds: int) -> dict[str, np.ndarray]:
    """Per second of the run: requests answered, failed (errors and timeouts), and in flight at the second."""
    done = r.sent + r.client
    bins = np.arange(seconds + 1)
    ticks = np.arange(seconds)
    return {
        "answered": np.histogram(done[r.answered], bins)[0].astype(float),
        "errors": np.histogram(done[~r.answered], bins)[0].astype(float),
        "in_flight": (np.searchsorted(np.sort(r.sent), ticks, side="right")
                      - np.searchsorted(np.sort(done), ticks, side="right")).astype(float),
    }  # fmt: skip


def outcome_shares(directories: list[Path], requests: dict[str, Requests], replications: list[dict]) -> list[Share]:
    """The judged outcomes' shares of the shoppers and the error rate, measured (outcomes.json, requests.csv;
    the load tests' together) and predicted (mean over the replications); none where a load test recorded no
    outcomes."""
    paths = [d / "outcomes.json" for d in directories]
    if not all(p.exists() for p in paths):
        return []
    measured: Counter[str] = Counter()
    for path in paths:
        measured.update(json.loads(path.read_text()).get("outcomes", {}))
    shoppers = sum(measured.values())
    sent = sum(len(r.sent) for r in requests.values())
    if not shoppers or not sent:
        return []
    shares = []
    for name in JUDGED_OUTCOMES[:-1]:
        predicted = [rep["shoppers"]["outcomes"][name] / max(1, sum(rep["shoppers"]["outcomes"].values()))
                     for rep in replications]  # fmt: skip
        shares.append(Share(name, measured.get(name, 0) / shoppers, float(np.mean(predicted))))
    errors = sum(int((~r.answered).sum()) for r in requests.values())
    predicted = [
        sum(e["rejected"] + e["timed_out"] for e in rep["endpoints"].values())
        / max(1, sum(e["requests"] for e in rep["endpoints"].values()))
        for rep in replications
    ]
    shares.append(Share("error_rate", errors / sent, float(np.mean(predicted))))
    return shares


NETWORK_FLOOR = 0.05
"""Quantile of the transport times taken as the network's own time where the model has the CPU's queue."""
DRAWS = 200_000
"""Predicted response times drawn per step: the p99 of so many is read to well under 1%."""


def transport_times(r: Requests) -> np.ndarray:
    """What answered clients waited beyond the server's own time (wait and app): network, HTTP and the
    load generator. Empty where the target sends no Server-Timing."""
    t = (r.client - r.wait - r.app)[r.answered]
    return np.maximum(t[np.isfinite(t)], 0.0)


def _quantiles(times: np.ndarray) -> dict[str, float | None]:
    return {f"p{round(q * 100)}": float(np.quantile(times, q)) if len(times) else None for q in QUANTILES}
