"""One error printer and one exit-code table for the project's commands: the preview (``python -m
stacks.preview``, ``make preview``), the cost estimate (``python -m stacks.cost``), the config reference
(``python -m stacks.config.docs``) and the local run (``python -m devstack``, ``make local``).

- 0: done; the result is on stdout.
- 1: the input is refused (the stack file, its config, or the command line): ``error: <key path>: <problem>``
  on stderr, one line per problem, no traceback.
- 2: the offline engine refuses the plan (the preview and the cost estimate): ``error: <what it refused>``.
- 3: a bug, the program or a command crashed: ``error: ... this is a bug`` and the traceback.
- 130: interrupted (Ctrl-C).

docs/preview.md carries the same table; a test checks both against these constants.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import NoReturn, TextIO

EXIT_OK, EXIT_CONFIG, EXIT_ENGINE, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "done",
    EXIT_CONFIG: "the input is refused: the stack file, its config, or the command line",
    EXIT_ENGINE: "the offline engine refuses the plan (the preview and the cost estimate)",
    EXIT_BUG: "a bug: the program or a command crashed",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


def print_problems(problems: Iterable[str], err: TextIO | None = None) -> int:
    """Print each problem as one ``error: ...`` line (continuation lines of a problem as they are) and return
    EXIT_CONFIG. A closed stderr is ignored: the status still tells."""
    stream = err if err is not None else sys.stderr
    try:
        for problem in problems:
            print(f"error: {problem}", file=stream, flush=True)
    except OSError:
        pass
    return EXIT_CONFIG


def print_bug(exc: BaseException, err: TextIO | None = None, *, what: str = "the command") -> int:
    """A crash: say it is a bug, then the traceback (the only case with one); return EXIT_BUG."""
    stream = err if err is not None else sys.stderr
    print(f"error: {what} crashed; this is a bug, please report it with the traceback below:", file=stream)
    traceback.print_exception(exc, file=stream)
    return EXIT_BUG


def guarded(main: Callable[[], int], *, err: TextIO | None = None) -> int:
    """Run a command's ``main``: a ConfigError that escapes it is printed as problems (status 1), Ctrl-C is
    status 130, anything else is a bug (status 3, with its traceback)."""
    from stacks.config import ConfigError

    try:
        return main()
    except ConfigError as exc:
        return print_problems(exc.problems, err)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # the one place that turns a crash into status 3
        return print_bug(exc, err)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's exit codes: a bad command line is status 1 (argparse's own is 2, which
    here means that the engine refused the plan), printed as the usage and one ``error:`` line."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print_problems([message])
        raise SystemExit(EXIT_CONFIG)
