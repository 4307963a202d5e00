"""`python -m bench` (`make bench`): throughput and latency of the API's hot paths on the local stack,
against the limits of the parts they are made of (Redis, PgBouncer, a bare Starlette hello).

See docs/benchmarks.md for what each figure means and the figures of a real run.
"""
