"""A process pool that fails fast: a worker that dies ends the run at once, naming its task.

    for result in run_tasks(convert, tasks, workers=2, describe=lambda t: t.path):
        ...

``multiprocessing.Pool`` waits forever for the result of a worker that was killed (by the OOM
killer, a segmentation fault in native code, ``kill -9``). Here each worker holds one task at a
time and the parent watches every worker's process sentinel: when one dies, the others are
stopped and ``WorkerCrashed`` says which task it was running and how it died. An exception raised
by ``fn`` is re-raised in the parent (after stopping the workers). Results come back in task order.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class WorkerCrashed(RuntimeError):
    """A worker process died while running a task; the message is one line naming the task."""


def run_tasks(fn: Callable[[T], R], tasks: Iterable[T], workers: int, describe: Callable[[T], str] = str,
              initializer: Callable[[], None] | None = None, context: str = "fork") -> Iterator[R]:
    """``fn(task)`` for every task in ``workers`` processes, yielded in task order."""
    todo = list(tasks)
    ctx = multiprocessing.get_context(context)
    pool: list[_Worker] = []
    try:
        for _ in range(max(1, min(workers, len(todo)))):
            pool.append(_Worker(ctx, fn, initializer))
        done: dict[int, R] = {}
        next_task, next_out = 0, 0
        while next_out < len(todo):
            for worker in pool:
                if worker.task is None and next_task < len(todo):
                    if not worker.give(next_task, todo[next_task]):
                        raise WorkerCrashed(f"a worker process {_how(worker.process.exitcode)} before starting "
                                            f"{describe(todo[next_task])}")
                    next_task += 1
            busy = [w for w in pool if w.task is not None]
            ready = multiprocessing.connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in busy:
                if worker.conn not in ready and worker.process.sentinel not in ready:
                    continue
                task = worker.task
                try:
                    index, ok, value = worker.take()
                except (EOFError, OSError):  # the pipe closed: the worker died holding its task
                    worker.process.join()
                    raise WorkerCrashed(f"a worker process {_how(worker.process.exitcode)} while working on "
                                        f"{describe(todo[task])}") from None
                if not ok:
                    raise _task_error(value, describe(todo[index]))
                done[index] = value
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
    finally:
        for worker in pool:
            worker.stop()


class _Worker:
    """One child process and the pipe it takes tasks from and sends results on."""

    def __init__(self, ctx: Any, fn: Callable, initializer: Callable[[], None] | None) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, fn, initializer), daemon=True)
        self.process.start()
        child.close()
        self.task: int | None = None

    def give(self, index: int, task: Any) -> bool:
        """Send a task; False when the process has died (its pipe is closed)."""
        try:
            self.conn.send((index, task))
        except OSError:
            self.process.join()
            return False
        self.task = index
        return True

    def take(self) -> tuple[int, bool, Any]:
        message = self.conn.recv()
        self.task = None
        return message

    def stop(self) -> None:
        if self.process.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _serve(conn: multiprocessing.connection.Connection, fn: Callable, initializer: Callable[[], None] | None) -> None:
    """A worker's loop: run each task it is sent until it is sent None (or the parent goes away)."""
    if initializer is not None:
        initializer()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, task = message
        try:
            conn.send((index, True, fn(task)))
        except Exception as err:  # sent to the parent, which re-raises it
            conn.send((index, False, _picklable(err)))


def _picklable(err: Exception) -> Exception | str:
    import pickle

    try:
        pickle.dumps(err)
        return err
    except Exception:
        return "".join(traceback.format_exception_only(type(err), err)).strip()


def _task_error(value: Exception | str, task: str) -> Exception:
    """The worker's exception (or, when it could not be pickled, a RuntimeError with its text)."""
    err = value if isinstance(value, Exception) else RuntimeError(f"{task}: {value}")
    err.add_note(f"(in a worker process, while working on {task})")
    return err


def _how(exitcode: int | None) -> str:
    """'was killed by SIGKILL' / 'exited with code 3' for a finished process's exit code."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"
