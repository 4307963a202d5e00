"""Run a Pulumi Python program the way the language host does, against the recording monitor.

The host (``pulumi-language-python-exec``) receives the stack's config from the engine in the environment
(``PULUMI_CONFIG``, ``PULUMI_CONFIG_SECRET_KEYS``), calls ``set_all_config``, configures the runtime and runs
``runpy.run_path(<main>)`` inside ``run_in_stack`` so that exports are registered on the Stack. This module
does exactly that, in a fresh thread with an empty ``contextvars.Context`` and fresh runtime settings, so
that many runs in one process do not see each other: the SDK keeps its state in context variables (the
first value set becomes the default for later contexts), the event loop belongs to a thread, and the
program's own modules are dropped from ``sys.modules`` afterwards so that the next run imports them anew.
Runs are serialised by a lock because the environment, ``sys.modules`` and ``sys.path`` are process-wide.

The program runs as ``pulumi up`` would run it (not a dry run) unless ``dry_run=True`` asks for ``pulumi
preview`` (``pulumi.runtime.is_dry_run()`` is then True). The recording monitor answers every registration
with the values AWS would compute, so every output is known either way and applies run; the differences are
the engine's own: an input fed ``None`` vanishes on an update but is unknown on a preview, and the program
may act on the flag (stacks/program.py only warns about example values that a real update refuses). The
project's previews (stacks.preview, stacks.cost, judges, the test harness) run as dry runs; a test checks
that the shipped stacks record the same resources and inputs either way.

One SDK internal is swapped during a run: ``pulumi.runtime.stack.wait_for_rpcs``. The SDK's version waits for
the program's outstanding outputs with ``asyncio.wait(FIRST_COMPLETED)`` in a loop, re-arming a callback on
every pending task each time one completes: quadratic in the number of outputs (a third of a warm run of
the prod stack). ``_wait_for_rpcs_linear`` waits for the same tasks and RPCs and re-raises the same
exceptions, arming each task once. Set ``NEXUS_OFFLINE_STOCK_WAIT=1`` to run with the SDK's own loop; a test
checks that both give identical records.

The cyclic garbage collector is paused during a run: a run allocates ~190 MB of mostly long-lived objects
(the provider SDKs' classes and typing objects, the program's futures), which the collector rescans again
and again without freeing anything (peak memory measured the same either way), a third of a cold run's CPU.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import logging
import os
import runpy
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime import stack as pulumi_stack
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack

from .cloud import DEFAULT_REGION, EmulationError
from .monitor import RecordingEngine, RecordingMonitor
from .records import ProgramRun

_RUN_LOCK = threading.Lock()


class ProgramCrashError(Exception):
    """The program raised something other than ``pulumi.RunError``: a bug, reported with its traceback."""


def run_program(
    project_dir: str | Path,
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    secret_keys: Sequence[str] = (),
    main: str = ".",
    organization: str = "organization",
    dry_run: bool = False,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ProgramRun:
    """Run the program in ``project_dir`` (``main`` as in Pulumi.yaml) with raw engine config.

    ``stack_outputs`` holds the outputs of the backend's other stacks by fully qualified name
    (``organization/<project>/<stack>``), for the program's StackReferences.
    ``config`` maps ``namespace:key`` to strings (structured values JSON-encoded), as the engine passes it.
    A ``pulumi.RunError`` (e.g. invalid stack config) comes back as ``ProgramRun.error``; an emulation
    failure (duplicate URN, unmocked invoke, impossible auto-name) as EmulationError; anything else as
    ProgramCrashError with the original exception chained.
    """
    root = Path(project_dir).resolve()
    region = config.get("aws:region") or DEFAULT_REGION
    monitor = RecordingMonitor(
        project=project, stack=stack, default_region=region, stack_outputs=stack_outputs
    )
    engine = RecordingEngine()
    outcome: dict[str, BaseException | None] = {"error": None}

    def body() -> None:
        try:
            _run_in_this_thread(
                root / main, monitor, engine, project, stack, config, secret_keys, organization, dry_run
            )
        except BaseException as exc:
            outcome["error"] = exc

    with _RUN_LOCK:
        collecting = gc.isenabled()
        gc.disable()
        stock_wait = pulumi_stack.wait_for_rpcs
        if not os.environ.get("NEXUS_OFFLINE_STOCK_WAIT"):
            pulumi_stack.wait_for_rpcs = _wait_for_rpcs_linear
        before = set(sys.modules)
        saved_env = {key: os.environ.get(key) for key in ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS")}
        # The engine hands config to the language host in the environment; the host copies it into the
        # SDK with set_all_config. Programs may read either, so both are provided.
        os.environ["PULUMI_CONFIG"] = json.dumps(dict(config))
        os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(secret_keys))
        try:
            thread = threading.Thread(target=contextvars.Context().run, args=(body,), name=f"pulumi-{stack}")
            thread.start()
            thread.join()
        finally:
            if collecting:
                gc.enable()
            pulumi_stack.wait_for_rpcs = stock_wait
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _drop_program_modules(before, root)

    error = outcome["error"]
    message: str | None = None
    if error is not None:
        run_error = _find(error, pulumi.RunError)
        emulation_error = _find(error, EmulationError)
        if emulation_error is not None:
            raise emulation_error
        if run_error is None:
            raise ProgramCrashError(f"the program failed: {error!r}") from error
        message = str(run_error)
    return ProgramRun(
        project=project,
        stack=stack,
        resources=tuple(monitor.recorded()),
        stack_urn=monitor.stack_urn,
        outputs=dict(monitor.stack_outputs),
        logs=tuple(engine.entries),
        error=message,
        unemulated_types=frozenset(monitor.unemulated),
    )


def _run_in_this_thread(
    program: Path,
    monitor: RecordingMonitor,
    engine: RecordingEngine,
    project: str,
    stack: str,
    config: Mapping[str, str],
    secret_keys: Sequence[str],
    organization: str,
    dry_run: bool,
) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # A full Settings object resets every context property (outputs, lock, package refs, base providers...),
    # which MockSettings would leave at the first run's values.
    pulumi_settings.configure(
        pulumi_settings.Settings(
            project=project,
            stack=stack,
            monitor=monitor,
            engine=engine,
            parallel=None,
            dry_run=dry_run,
            organization=organization,
            root_directory=str(program.parent if program.is_file() else program),
        )
    )
    pulumi_settings.ROOT.set(None)
    set_all_config(dict(config), list(secret_keys))
    # The host silences asyncio's complaints about futures left unobserved when a program fails.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    def run_main() -> None:
        runpy.run_path(str(program), run_name="__main__")

    try:
        loop.run_until_complete(run_in_stack(run_main))
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)


async def _wait_for_rpcs_linear(await_all_outstanding_tasks: bool = True) -> None:
    """The SDK's quiescence wait (all RPCs, then all output tasks, until nothing new appears), linear."""
    rpc_manager = pulumi_settings._get_rpc_manager()
    while True:
        while rpc_manager.rpcs:
            await asyncio.sleep(0)
            try:
                await rpc_manager.rpcs.pop()
            except Exception as exn:
                if rpc_manager.unhandled_exception is not None:
                    raise exn from rpc_manager.unhandled_exception.with_traceback(
                        rpc_manager.exception_traceback
                    )
                raise
        if rpc_manager.unhandled_exception is not None:
            raise rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
        if await_all_outstanding_tasks:
            while True:
                with pulumi_settings.SETTINGS.lock:
                    pending: list[asyncio.Task[Any]] = list(pulumi_settings.SETTINGS.outputs)
                    pulumi_settings.SETTINGS.outputs.clear()
                if not pending:
                    break
                done, _ = await asyncio.wait(pending)
                for task in done:
                    await task  # re-raises a failed apply, as the SDK's loop does
        if not rpc_manager.rpcs:
            break


def _find(error: BaseException, kind: type[BaseException]) -> Any:
    """The first exception of ``kind`` in ``error``'s cause/context chain."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _drop_program_modules(before: set[str], root: Path) -> None:
    """Forget modules the run imported from the project (not from its venv), so the next run re-imports."""
    venv = root / "venv"
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if path.is_relative_to(root) and not path.is_relative_to(venv):
            del sys.modules[name]
