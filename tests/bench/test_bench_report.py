"""The benchmark's parsing and ratio code (the benchmark itself runs in `make bench`, never in tests)."""

from __future__ import annotations

import pytest

from bench.parts import PartResult, parse_pgbench, parse_redis_benchmark_csv
from bench.report import CONFIGS, SCENARIOS, OffloadResult, Pooling, median_run, ratios, target_rows
from bench.wrk import BenchError, LoadResult, parse_wrk_output

pytestmark = pytest.mark.unit

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8080/healthz
  2 threads and 64 connections
Requests/sec:  10000.00
BENCH {"requests": 50000, "duration_us": 5000000, "connect": 0, "read": 1, "write": 0, "status": 3, \
"timeout": 2, "p50_us": 1500, "p90_us": 4000, "p99_us": 9000, "max_us": 20000}
"""


def load(rps: float, p99_ms: float = 5.0, cpu_us: float | None = None) -> LoadResult:
    return LoadResult(
        requests=int(rps * 5),
        seconds=5.0,
        p50_ms=1.0,
        p90_ms=2.0,
        p99_ms=p99_ms,
        max_ms=9.0,
        errors=0,
        cpu_us=cpu_us,
    )


def test_wrk_line_gives_rates_latencies_and_every_kind_of_error() -> None:
    result = parse_wrk_output(WRK_OUTPUT)
    assert result.rps == pytest.approx(10000.0)
    assert (result.p50_ms, result.p99_ms, result.max_ms) == (1.5, 9.0, 20.0)
    assert result.errors == 6
    assert result.status_errors == 3


def test_wrk_output_without_the_result_line_is_an_error() -> None:
    with pytest.raises(BenchError, match="no result line"):
        parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_redis_benchmark_csv() -> None:
    text = (
        '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",'
        '"p99_latency_ms","max_latency_ms"\n'
        '"GET","149253.73","0.221","0.056","0.199","0.343","0.511","1.287"\n'
    )
    result = parse_redis_benchmark_csv(text)
    assert result.ops == pytest.approx(149253.73)
    assert (result.p50_ms, result.p99_ms) == (0.199, 0.511)


def test_pgbench_summary() -> None:
    text = (
        "number of transactions actually processed: 198000\n"
        "number of failed transactions: 0 (0.000%)\n"
        "latency average = 1.616 ms\n"
        "initial connection time = 40.1 ms\n"
        "tps = 39612.345678 (without initial connection time)\n"
    )
    result = parse_pgbench(text)
    assert result.ops == pytest.approx(39612.345678)
    assert result.avg_ms == 1.616
    assert result.failed == 0


def test_pgbench_without_tps_is_an_error() -> None:
    with pytest.raises(BenchError):
        parse_pgbench("pgbench: error: connection to server failed\n")


def test_median_run_keeps_the_middle_run_with_its_own_latencies() -> None:
    runs = [load(300, p99_ms=30), load(100, p99_ms=10), load(200, p99_ms=20)]
    assert median_run(runs).p99_ms == 20
    assert median_run(runs[:2]).rps == pytest.approx(100)  # even count: the lower middle, not a mean


def by_name(rows: list) -> dict:
    return {row.name: row for row in rows}


def test_ratios_and_verdicts() -> None:
    matrix = {cfg: {s: load(1000) for s in SCENARIOS} for cfg in CONFIGS}
    matrix["1x1"]["cached"] = load(3000, p99_ms=8.0, cpu_us=200)
    matrix["1x1"]["healthz"] = load(6000)
    matrix["1x2"]["cached"] = load(4000, p99_ms=12.0, cpu_us=100)
    matrix["nginx"]["cached"] = load(3500)
    matrix["1x1"]["uncached"] = load(8000)
    matrix["1x2"]["uncached"] = load(6000)
    hello = {1: load(10000, cpu_us=50), 2: load(10000)}
    pgbench = PartResult(ops=40000.0, p50_ms=None, p99_ms=None, avg_ms=1.0)
    peer = {"healthz": load(5000), "cached": load(1000, p99_ms=15.0, cpu_us=400), "uncached": load(3500)}
    rows = by_name(ratios(matrix, hello, pgbench, peer))

    cached = rows["GET /v1/documents/{id}, cached / textbook app (2 workers each)"]
    assert (cached.value, cached.target, cached.passed) == (pytest.approx(4.0), ">= 3.00", True)
    cpu = rows["CPU per request: textbook / ours, GET /v1/documents/{id}, cached"]
    assert cpu.value == pytest.approx(4.0)
    uncached = rows["GET /v1/documents/{id}, cache off / textbook app (2 workers each)"]
    assert (uncached.value, uncached.passed) == (pytest.approx(6000 / 3500), False)
    healthz = rows["GET /healthz / textbook app (2 workers each)"]
    assert (healthz.value, healthz.passed) == (pytest.approx(0.2), None)  # no target: shown only
    p99 = rows["cached GET p99 ms, 2 workers (textbook's in the target)"]
    assert (p99.target, p99.passed) == ("<= 15.00 ms", True)
    assert rows["cached GET / healthz (1 instance, 1 worker)"].value == pytest.approx(0.5)
    hello1 = rows["cached GET / Starlette hello (1 worker(s))"]
    assert (hello1.value, hello1.passed) == (pytest.approx(0.3), None)
    hello2 = rows["cached GET / Starlette hello (2 worker(s))"]
    assert (hello2.value, hello2.passed) == (pytest.approx(0.4), False)
    assert rows["CPU per request: hello / cached GET (1 worker(s))"].value == pytest.approx(0.25)
    assert "CPU per request: hello / cached GET (2 worker(s))" not in rows  # no CPU figure: no ratio
    assert rows["uncached read / pgbench -S (1 worker(s))"].value == pytest.approx(0.2)
    assert rows["2 workers / 1 worker: GET /v1/documents/{id}, cached"].value == pytest.approx(4 / 3)
    nginx = rows["nginx 2x1 / 1 instance x2: GET /v1/documents/{id}, cached"]
    assert (nginx.value, nginx.passed) == (pytest.approx(0.875), False)
    assert rows["nginx 2x1 / 1 instance x2: GET /healthz"].passed is True


def test_a_slower_tail_than_the_peer_misses() -> None:
    matrix = {cfg: {s: load(1000, p99_ms=20.0) for s in SCENARIOS} for cfg in CONFIGS}
    peer = {s: load(1000, p99_ms=19.9) for s in ("healthz", "cached", "uncached")}
    pgbench = PartResult(ops=40000.0, p50_ms=None, p99_ms=None, avg_ms=1.0)
    rows = by_name(ratios(matrix, {1: load(1), 2: load(1)}, pgbench, peer))
    assert rows["cached GET p99 ms, 2 workers (textbook's in the target)"].passed is False


def test_pooling_and_offload_targets() -> None:
    pooling = Pooling(
        connections=500, result=load(1000), max_server_conns={"a": 20, "b": 3}, cap=20, samples=9
    )
    offload = OffloadResult(result=load(1000), replica_scans=96, primary_scans=4)
    rows = target_rows(pooling, offload)
    assert [row.passed for row in rows] == [True, True, True]
    assert rows[2].value == pytest.approx(0.96)

    over = Pooling(connections=500, result=load(1000), max_server_conns={"a": 21}, cap=20, samples=9)
    few = OffloadResult(result=load(1000), replica_scans=90, primary_scans=10)
    assert [row.passed for row in target_rows(over, few)] == [False, True, False]
    assert OffloadResult(result=load(1), replica_scans=0, primary_scans=0).share == 0.0


def test_errors_in_any_of_the_consecutive_pooling_runs_miss() -> None:
    offload = OffloadResult(result=load(1000), replica_scans=1, primary_scans=0)
    runs = Pooling(
        connections=500,
        result=load(1000),
        max_server_conns={"a": 20},
        cap=20,
        samples=9,
        run_errors=(0, 2, 0),
    )
    errors = target_rows(runs, offload)[1]
    assert (errors.value, errors.passed) == (2.0, False)
    assert "worst of 3 consecutive runs (0, 2, 0)" in errors.name
