"""Replications, plans and sizing candidates on a Dask cluster: the same results as one process."""

import pytest
from click.testing import CliRunner
from distributed import LocalCluster

from simulator import load_scenario, simulate
from simulator.analysis import replications, size
from simulator.analysis.replications import ClusterProblem
from simulator.cli import main

THURSDAY = "scenarios/xiaomi-thursday-flash.yaml"
SMALL = ["audience.size=10k", "clock.horizon=20m"]
ROOMED = ["audience.size=9k", "clock.horizon=15m", "replications=2", "waiting_room={admit_rate: 8/s}"]
"""A small steady state with a waiting room: its servers are sized with the room and without."""


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of 2 worker processes, one thread each, as `dask scheduler` and 2 `dask worker` give."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local.scheduler_address


@pytest.mark.slow
def test_replications_on_a_cluster_sum_up_byte_for_byte_as_in_one_process(cluster):
    scenario = load_scenario(THURSDAY, SMALL)
    here = simulate(scenario, replications=3, jobs=1)
    there = simulate(scenario, replications=3, cluster=cluster)
    assert there.summary == here.summary
    assert (there.timeseries[1] == here.timeseries[1]).all()


@pytest.mark.slow
def test_sizing_on_a_cluster_finds_what_one_process_finds(cluster):
    scenario = load_scenario("scenarios/steady-state.yaml", ROOMED)
    here, there = size(scenario, "servers", jobs=1), size(scenario, "servers", cluster=cluster)
    assert there.rows == here.rows and there.runs == here.runs and there.scenario == here.scenario


@pytest.mark.slow
def test_compare_on_a_cluster_writes_the_files_one_process_writes(cluster, tmp_path):
    runner = CliRunner()
    common = [
        "compare",
        THURSDAY,
        "--plan",
        "waiting-room",
        "-r",
        "2",
        "--no-figures",
        *sum((["--set", s] for s in SMALL), []),
    ]
    local = runner.invoke(main, [*common, "--out", str(tmp_path / "local")])
    remote = runner.invoke(main, [*common, "--cluster", cluster, "--out", str(tmp_path / "cluster")])
    assert local.exit_code == 0 and remote.exit_code == 0, (local.output, remote.output)
    for name in ("compare.json", "compare.csv", "baseline/summary.json", "waiting-room/summary.json"):
        assert (tmp_path / "cluster" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name


def test_a_cluster_that_does_not_answer_is_bad_input_named_by_its_address(tmp_path, monkeypatch):
    monkeypatch.setattr(replications, "CONNECT_TIMEOUT", 1.0)
    with pytest.raises(ClusterProblem, match="tcp://127.0.0.1:9"):
        with replications.executor(1, "tcp://127.0.0.1:9", 2):
            pass
    result = CliRunner().invoke(
        main, ["run", THURSDAY, "--cluster", "tcp://127.0.0.1:9", "--no-figures", "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 2 and "no Dask scheduler answered" in result.output
    assert not (tmp_path / "run").exists()  # the run directory it made is not left behind empty
