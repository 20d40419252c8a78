"""``--scheduler``: the build's tasks on a Dask cluster give the same output as a local run."""

import subprocess
import sys

import pytest

distributed = pytest.importorskip("distributed")

import boundaries  # noqa: E402
from boundaries.errors import InputError, PartitionError  # noqa: E402
from helpers import synth_table  # noqa: E402
from helpers import national_build  # noqa: E402
from boundaries.parallel import connect, run_tasks  # noqa: E402
from boundaries.write import write_stations  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes, started once for the module."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as c:
        yield c


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """A small national-shape table: 3 départements, one Parquet file."""
    return synth_table(tmp_path_factory, 15_000, 3, seed=7)


def _raise(error_class, message):
    raise error_class(message)


def test_workers_import_this_checkout(cluster):
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        where = client.run(lambda: __import__("boundaries").__file__)
    assert set(where.values()) == {boundaries.__file__}


def test_town_on_the_cluster_equals_a_local_run(cluster, town, tmp_path):
    addresses, communes, _ = town
    address = cluster.scheduler_address
    # a client opened by connect() is reused by the build: its task stream shows the tasks
    with connect(address) as client, distributed.get_task_stream(client) as stream:
        remote = boundaries.build(addresses, communes, scheduler=address)
    local = boundaries.build(addresses, communes, jobs=1)
    ran = [t["key"] for t in stream.data if "_build_unit_task" in str(t["key"])]
    built = [u for u, info in local.report.communes.items() if info.get("method") not in (None, "commune")]
    assert len(ran) == len(built) > 1  # one Dask task per commune with several stations
    write_stations(remote.stations, str(tmp_path / "remote.geojson"))
    write_stations(local.stations, str(tmp_path / "local.geojson"))
    assert (tmp_path / "remote.geojson").read_bytes() == (tmp_path / "local.geojson").read_bytes()
    assert remote.report.communes.keys() == local.report.communes.keys()


def test_national_on_the_cluster_equals_a_local_run(cluster, national, tmp_path):
    a, c = national
    remote = national_build(a, c, tmp_path / "remote", scheduler=cluster.scheduler_address)
    local = national_build(a, c, tmp_path / "local", jobs=1)
    assert len(remote.report.departements) == 3
    assert sorted(p.name for p in (tmp_path / "remote").iterdir()) == sorted(
        p.name for p in (tmp_path / "local").iterdir())  # the same parts, by content hash
    write_stations(remote.stations, str(tmp_path / "remote.geojson"))
    write_stations(local.stations, str(tmp_path / "local.geojson"))
    assert (tmp_path / "remote.geojson").read_bytes() == (tmp_path / "local.geojson").read_bytes()


def test_cli_with_a_local_cluster(town, tmp_path):
    addresses, communes, _ = town
    run = [sys.executable, "-m", "boundaries", "build", str(addresses), "--communes", str(communes), "-q"]
    subprocess.run([*run, "-o", str(tmp_path / "one.geojson"), "-j", "1"], check=True)
    proc = subprocess.run([*run, "-o", str(tmp_path / "dask.geojson"), "-j", "2", "--scheduler", "local"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert (tmp_path / "dask.geojson").read_bytes() == (tmp_path / "one.geojson").read_bytes()


def test_cli_unreachable_scheduler_is_one_line_and_exit_2(town, tmp_path):
    addresses, communes, _ = town
    out = tmp_path / "x.geojson"
    proc = subprocess.run(
        [sys.executable, "-m", "boundaries", "build", str(addresses), "--communes", str(communes), "-o", str(out),
         "--scheduler", "tcp://127.0.0.1:1"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("boundaries: error: cannot reach the Dask scheduler")
    assert "Traceback" not in proc.stderr
    assert not out.exists() and not (tmp_path / "x.report.json").exists()


@pytest.mark.parametrize("error_class", [InputError, PartitionError])
def test_an_error_in_a_task_comes_back_as_its_class(cluster, error_class):
    tasks = [(error_class, "commune 99001: no good"), (error_class, "commune 99002: no good")]
    with pytest.raises(error_class, match="no good"):
        list(run_tasks(_raise, tasks, scheduler=cluster.scheduler_address))


def test_without_distributed_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(InputError, match=r"boundaries\[cluster\]"):
        list(run_tasks(_raise, [(ValueError, "never runs")], scheduler="tcp://127.0.0.1:8786"))
