"""The yardstick: a bare Starlette hello, served with the server settings of `python -m app.serve`.

`python -m bench.hello PORT WORKERS`.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.serve import GRACEFUL_SHUTDOWN_SECONDS

_BODY = b'{"hello":"world"}'


async def hello(request: Request) -> Response:
    return Response(_BODY, media_type="application/json")


def create_app() -> Starlette:
    return Starlette(routes=[Route("/", hello)])


def main(argv: list[str]) -> int:
    port, workers = int(argv[0]), int(argv[1])
    # The same server settings as app.serve._run (the lifespan aside: this app has none).
    uvicorn.run(
        "bench.hello:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
