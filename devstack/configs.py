"""Rendered configuration and command lines of PgBouncer, Redis, the S3 server and nginx.

Pure functions of ports and paths, so they can be read (and unit-tested) without starting anything.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from devstack.tls import ServerCert
from devstack.topology import PortPlan, Topology

PGBOUNCER_ADMIN = "nexus_pgbouncer_admin"


@dataclass(frozen=True, kw_only=True)
class PoolSettings:
    """PgBouncer's caps: the local stand-in for RDS Proxy's connection pool settings."""

    default_pool_size: int = 20
    """Server connections per (database alias, user) pair."""
    max_db_connections: int = 40
    """Hard cap of server connections per database alias (per shard primary)."""
    max_client_conn: int = 2000
    """Client connections PgBouncer accepts in all (the proxy's side of the app pools)."""

    def __post_init__(self) -> None:
        if self.max_client_conn < 1000:
            raise ValueError("max_client_conn must be at least 1000: the app pools of every pod land here")
        if not 1 <= self.default_pool_size <= self.max_db_connections:
            raise ValueError("default_pool_size must be between 1 and max_db_connections")


def pgbouncer_ini(
    *,
    ports: PortPlan,
    topology: Topology,
    pool: PoolSettings,
    userlist: Path,
    pidfile: Path,
    tls: ServerCert,
    ca_cert: Path,
) -> str:
    """pgbouncer.ini: one alias per shard pointing at that shard's primary database, TLS on both sides.

    Clients must use TLS (``client_tls_sslmode = require``: the server side of that setting presents the
    certificate; clients do the verifying), and PgBouncer verifies each primary against the local CA
    (``server_tls_sslmode = verify-full``), as RDS Proxy does with RDS (pgbouncer.org/config.html, TLS
    settings, in 1.18)."""
    databases = "\n".join(
        f"{shard.alias} = host=127.0.0.1 port={ports.primary(shard.id)} dbname={shard.database}"
        for shard in topology.shards
    )
    return f"""; Written by devstack.
[databases]
{databases}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {ports.pgbouncer}
; TCP only.
unix_socket_dir =
pidfile = {pidfile}
auth_type = scram-sha-256
auth_file = {userlist}
admin_users = {PGBOUNCER_ADMIN}
stats_users = {PGBOUNCER_ADMIN}
; Transaction pooling, like RDS Proxy: a server connection is held only for one transaction. PgBouncer
; 1.18 has no protocol-level prepared statements in this mode: clients must not cache them.
pool_mode = transaction
default_pool_size = {pool.default_pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = {pool.max_client_conn}
max_db_connections = {pool.max_db_connections}
server_idle_timeout = 60
server_connect_timeout = 5
; After a failed server login (a primary restarting) PgBouncer refuses every client of that database for
; this long (default 15 s); 1 s keeps the outage close to the restart itself.
server_login_retry = 1
; A client waiting longer than this for a server connection gets an error instead of hanging.
query_wait_timeout = 30
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
stats_period = 10
client_tls_sslmode = require
client_tls_cert_file = {tls.cert}
client_tls_key_file = {tls.key}
client_tls_protocols = secure
server_tls_sslmode = verify-full
server_tls_ca_file = {ca_cert}
server_tls_protocols = secure
"""


def pgbouncer_userlist(app_password: str, admin_password: str, owner_password: str) -> str:
    """auth_file entries: the app role, the owner (the migrations) and the admin console. Plain passwords
    let PgBouncer answer SCRAM on both sides (client and server)."""
    return (
        f'"nexus_app" "{app_password}"\n"nexus_owner" "{owner_password}"\n'
        f'"{PGBOUNCER_ADMIN}" "{admin_password}"\n'
    )


def redis_command(*, port: int, workdir: Path, maxmemory: str) -> list[str]:
    """redis-server on loopback, nothing on disk, and no eviction: the job queue lives here.

    With ``noeviction`` a full Redis refuses writes instead of silently dropping queued jobs; cache keys
    carry TTLs so they do not fill it up. ElastiCache in the cloud stacks follows the same choice.
    """
    return [
        "redis-server",
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--maxmemory",
        maxmemory,
        "--maxmemory-policy",
        "noeviction",
        "--loglevel",
        "warning",
    ]


def s3_command(*, port: int) -> list[str]:
    """moto's S3-compatible server, run with the project's interpreter (it comes from moto[server])."""
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


@dataclass(frozen=True)
class FrontDoorError:
    """An error nginx answers itself, in the API's error shape (app.core.errors.ErrorResponse)."""

    status: int
    code: str
    message: str
    headers: tuple[tuple[str, str], ...] = ()


# Every status nginx may write itself in this configuration, and those that limit_req/limit_conn would
# (429, 503) if they are ever added. The codes are the API's where it has one (413 payload_too_large, 503
# unavailable with Retry-After, 405 method_not_allowed with Allow). Not here: 499 (nginx's log entry for a
# client that closed the connection; nothing is sent) and 408 (nginx closes a timed-out connection without a
# response: ngx_http_finalize_request terminates NGX_HTTP_REQUEST_TIME_OUT).
FRONT_DOOR_ERRORS: tuple[FrontDoorError, ...] = (
    FrontDoorError(400, "bad_request", "the request could not be parsed"),
    # nginx's 494 "Request Header Or Cookie Too Large" is sent with the status 400.
    FrontDoorError(494, "request_header_too_large", "a request header or the cookies are too large"),
    # TRACE (refused by nginx itself); every other method reaches the API, whose 405 lists the resource's.
    FrontDoorError(
        405, "method_not_allowed", "method not allowed", (("Allow", "GET, HEAD, POST, PUT, DELETE"),)
    ),
    FrontDoorError(408, "request_timeout", "the request was not received in time"),
    FrontDoorError(413, "payload_too_large", "the request body is larger than the front door accepts"),
    FrontDoorError(414, "uri_too_long", "the request line is longer than the front door accepts"),
    FrontDoorError(429, "rate_limited", "too many requests", (("Retry-After", "1"),)),
    FrontDoorError(500, "internal", "internal server error"),
    FrontDoorError(502, "bad_gateway", "no API instance answered", (("Retry-After", "1"),)),
    FrontDoorError(503, "unavailable", "the API is unavailable", (("Retry-After", "1"),)),
    FrontDoorError(504, "gateway_timeout", "the API did not answer in time", (("Retry-After", "1"),)),
)


ERROR_PAGE_PREFIX = "/_nexus_error/"


def _error_pages() -> tuple[str, str]:
    """``error_page`` lines for the server block, and one internal location per error writing its JSON body.

    Locations by URI, not named ones: for an error in the request line itself (400, 414) nginx has no URI
    yet and refuses to redirect to a named location ("empty URI in redirect to named location").
    """
    pages = "\n".join(
        f"        error_page {e.status} {'=400 ' if e.status == 494 else ''}{ERROR_PAGE_PREFIX}{e.status};"
        for e in FRONT_DOOR_ERRORS
    )
    locations = []
    for e in FRONT_DOOR_ERRORS:
        body = json.dumps({"error": {"code": e.code, "message": e.message}}, separators=(",", ":"))
        headers = "".join(f'            add_header {name} "{value}" always;\n' for name, value in e.headers)
        status = 400 if e.status == 494 else e.status
        locations.append(
            f"        location = {ERROR_PAGE_PREFIX}{e.status} {{\n"
            "            internal;\n"
            # Asked for from outside, an internal location is nginx's 404: the API's, in JSON, instead.
            "            error_page 404 @nexus_not_found;\n"
            "            default_type application/json;\n"
            f"{headers}"
            f"            return {status} '{body}\\n';\n"
            "        }"
        )
    not_found = json.dumps({"error": {"code": "not_found", "message": "not found"}}, separators=(",", ":"))
    locations.append(
        "        location @nexus_not_found {\n"
        "            default_type application/json;\n"
        f"            return 404 '{not_found}\\n';\n"
        "        }"
    )
    return pages, "\n".join(locations)


def nginx_conf(
    *,
    ports: PortPlan,
    prefix: Path,
    log_dir: Path,
    drained: frozenset[int] = frozenset(),
    client_max_body_bytes: int,
    client_timeout_seconds: int = 60,
    upstream_read_timeout_seconds: int = 60,
) -> str:
    """nginx as the stand-in for the ALB: both API instances upstream, kept-alive, retried on connect errors.

    A drained instance is marked ``down`` (an ALB target being deregistered): nginx stops sending it new
    requests while its in-flight ones finish. nginx's own errors (FRONT_DOOR_ERRORS) have the API's JSON
    error shape; the API's own responses pass through untouched (``proxy_intercept_errors`` stays off).
    The timeouts are parameters so that tests can provoke them quickly; the defaults match the ALB's
    60 s idle timeout.
    """
    error_pages, error_locations = _error_pages()
    servers = "\n".join(
        f"        server 127.0.0.1:{ports.api(i)} max_fails=1 fail_timeout=2s"
        + (" down" if i in drained else "")
        + ";"
        for i in range(ports.api_instances)
    )
    temp = prefix / "temp"
    return f"""# Written by devstack.
worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log {log_dir / "nginx-error.log"} warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log {log_dir / "nginx-access.log"} combined buffer=64k flush=1s;
    client_body_temp_path {temp / "client_body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    # Above the app's own upload limit, so that the app answers 413 with its JSON body.
    client_max_body_size {client_max_body_bytes};
    client_header_timeout {client_timeout_seconds}s;
    client_body_timeout {client_timeout_seconds}s;
    server_tokens off;

    upstream nexus_api {{
{servers}
        keepalive 64;
        # Shorter than the API's own keep-alive (5 s), so nginx never reuses a connection the API is
        # closing at that very moment.
        keepalive_timeout 4s;
    }}

    server {{
        listen 127.0.0.1:{ports.http};
{error_pages}
        location / {{
            proxy_pass http://nexus_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # The Host the client sent, port included ($host drops the port): anything the API derives
            # from it (an absolute URL) points back at the front door the client used.
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-ID $request_id;
            # Like an ALB: a refused or timed-out connection goes to the other instance. Only requests
            # that were never sent are retried (POSTs are not repeated after they reached an instance).
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout {upstream_read_timeout_seconds}s;
        }}
{error_locations}
    }}
}}
"""


def nginx_command(*, prefix: Path, conf: Path, log_dir: Path) -> list[str]:
    """nginx in the foreground with its own prefix, config and early error log (not /var/log/nginx)."""
    return ["nginx", "-p", str(prefix), "-c", str(conf), "-e", str(log_dir / "nginx-error.log")]
