"""JSON logs carrying the request id and tenant of the request being served."""

from __future__ import annotations

import atexit
import contextvars
import logging
import logging.handlers
import queue
import sys
import time

import msgspec

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
tenant_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenant", default=None)

_encoder = msgspec.json.Encoder()
_STD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "ctx_request_id", None) or request_id_var.get()
        if request_id is not None:
            doc["request_id"] = request_id
        tenant = getattr(record, "ctx_tenant", None) or tenant_var.get()
        if tenant is not None:
            doc["tenant"] = tenant
        for key, value in record.__dict__.items():
            if key not in _STD_ATTRS and not key.startswith(("_", "ctx_")):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return _encoder.encode(doc).decode()


_listener: logging.handlers.QueueListener | None = None
_output: logging.Handler | None = None


class _ContextQueueHandler(logging.handlers.QueueHandler):
    """Hands records to a background thread that formats and writes them, so a request pays for a queue
    put, not for JSON encoding and a write to stdout. The request id and tenant live in context variables of
    the request's task, so they are copied onto the record here, before it changes threads."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.ctx_request_id = request_id_var.get()
        record.ctx_tenant = tenant_var.get()
        return record


def configure_logging(level: str) -> None:
    """Send every logger (ours, uvicorn's, arq's) to stdout as one JSON object per line."""
    global _listener, _output
    if _listener is not None:
        _listener.stop()
    _output = output = logging.StreamHandler(sys.stdout)
    output.setFormatter(JsonFormatter())
    _listener = logging.handlers.QueueListener(queue.SimpleQueue(), output, respect_handler_level=False)
    _listener.start()
    # Flush what is queued when the process exits (the worker and migrations exit through sys.exit).
    atexit.register(write_logs_directly)
    handler = _ContextQueueHandler(_listener.queue)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq", "arq.worker"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # uvicorn's access log is replaced by ours, which knows the route template and tenant.
    logging.getLogger("uvicorn.access").disabled = True


def write_logs_directly() -> None:
    """Flush the queue and log synchronously from now on. Called when the app stops: uvicorn ends the
    process by re-raising SIGTERM, which skips atexit, so its last lines must not wait in the queue."""
    global _listener
    if _listener is None or _output is None:
        return
    _listener.stop()
    _listener = None
    logging.getLogger().handlers[:] = [_output]
