"""Methods in worker processes: the caller's Python work (an app encoding images and drawing plots)
cannot slow them down, and a method that crashes its process ends that method only.

In a thread, a method shares the interpreter lock with everything else in the process; the app
measured 2.8× fewer DIP iterations per second than its own API because 29 % of the samples were
matplotlib and PNG encoding holding that lock. A process has its own. Workers are forked from a
*forkserver* that imported torch and every method once (:func:`warm`), so a worker starts in tens of
milliseconds with nothing inherited from the caller but its arguments, and its memory is returned
whole when it exits — one worker per method run, never reused, so no state leaks between runs.

Each worker sends its events through its own pipe (a crash mid-message can corrupt only its own
channel), and the caller waits on every pipe and every process sentinel at once, so a worker killed
by the system (out of memory, SIGKILL) is noticed at once and reported in one sentence.
"""

from __future__ import annotations

import ctypes
import importlib.util
import io
import multiprocessing as mp
import os
import pickle
import pkgutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerProcess
from typing import Any


def _plugins() -> list[str]:
    spec = importlib.util.find_spec("arena.methods")
    paths = spec.submodule_search_locations if spec is not None else None
    return [f"arena.methods.{m.name}" for m in pkgutil.iter_modules(paths or []) if not m.name.startswith("_")]


PRELOAD = ["torch", "arena.runner", "arena.workers", "arena.metrics", "arena.degradations", "arena.methods",
           *_plugins()]
"""What the forkserver imports once, every method plugin included, so a worker imports nothing."""

PREVIEW_SECONDS = 0.2
"""A worker sends an iterate with a step event at most this often (the metrics of every measured
step always go): a 256² RGB iterate is 0.8 MB to pickle, and TV measures one every few ms."""

JOIN_SECONDS = 5.0
"""How long a stopped worker has to exit by itself before it is killed."""

_CTX = mp.get_context("forkserver")
_CTX.set_forkserver_preload(PRELOAD)


class _Popen(popen_forkserver.Popen):
    """The standard forkserver launch, less the re-import of the caller's main module in the worker.

    A worker runs a function of this package on pickled arguments and needs nothing from
    ``__main__``, but multiprocessing re-runs the main module in every child as spawn does: under
    ``python app.py`` that is gradio's import, seconds per method per run. Python 3.11's
    ``_launch`` with those two keys dropped from the preparation data."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        popen_forkserver.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            popen_forkserver.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


_running: dict[int, str] = {}
"""pid → method key of every worker alive now, across all runs (see :func:`running_workers`)."""
_warm_lock = threading.Lock()
_warmed = False


def warm() -> None:
    """Start the forkserver and have it import torch and the methods now (a few seconds, once per
    process), so the first run does not pay for it. Safe to call many times and from many threads."""
    global _warmed
    with _warm_lock:
        if not _warmed:
            p = _Process(target=_noop, daemon=True)
            p.start()
            p.join()
            _warmed = True


def _noop() -> None:
    pass


def running_workers() -> dict[int, str]:
    """The worker processes alive now: pid → the key of the method each runs."""
    return dict(_running)


class _Sender:
    """The worker's end of its pipe, with the ``put`` of a queue (what :func:`arena.runner._work` calls)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.last_x = 0.0

    def put(self, ev: Any) -> None:
        if ev.kind == "step" and ev.x is not None:
            now = time.monotonic()
            if now - self.last_x < PREVIEW_SECONDS:
                ev = replace(ev, x=None)
            else:
                self.last_x = now
        _send(self.conn, ev)


class _Flag:
    """A stop flag in shared memory, read without a lock: a worker killed while it holds the lock of
    a ``multiprocessing.Event`` would leave every other worker blocked in ``is_set()``."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def is_set(self) -> bool:
        return bool(self.value.value)

    def set(self) -> None:
        self.value.value = True


def _child(conn: Connection, target: Callable[..., Any], args: tuple[Any, ...], stop: Any, hub_dir: str) -> None:
    import torch

    from arena.method import load_methods

    # The published weights are read from the cache the caller checked (arena.bridge.published), not
    # from the one the forkserver saw when it started (TORCH_HOME may have been set since).
    torch.hub.set_dir(hub_dir)
    load_methods()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the caller's to handle
    results: dict[str, Any] = {}
    target(*args, _Flag(stop), _Sender(conn), results)
    _send(conn, ("result", results))
    conn.close()


def _send(conn: Connection, obj: Any) -> None:
    # Plain pickle copies tensors into the message. multiprocessing's own pickler would pass their
    # storage as shared-memory file descriptors that the receiver fetches from the sender later —
    # gone once a worker has exited.
    conn.send_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def run_in_processes(calls: list[tuple[str, Callable[..., Any], tuple[Any, ...]]], limit: int,
                     cancel: threading.Event, died: Callable[[str, str], list[Any]],
                     results: dict[str, Any]) -> Iterator[Any]:
    """Run ``target(*args, cancel, events, results)`` for each ``(key, target, args)`` in its own
    worker process, at most ``limit`` at once, and yield the events they put, as they come.

    ``results`` receives what each worker stored in its ``results``; for a worker that died before
    reporting, ``died(key, reason)`` gives the events to yield (its end) and stores its result.
    Setting ``cancel`` (or closing the iterator) asks every worker to stop at its next iteration;
    one that has not exited ``JOIN_SECONDS`` later is killed.
    """
    import torch

    warm()
    hub_dir = torch.hub.get_dir()
    stop = _Flag(_CTX.RawValue(ctypes.c_bool, False))
    pending = list(calls)
    running: dict[Connection, tuple[str, Any]] = {}
    reported: set[str] = set()
    unreadable: dict[str, str] = {}
    try:
        while pending or running:
            while pending and len(running) < limit:
                key, target, args = pending.pop(0)
                recv, send = _CTX.Pipe(duplex=False)
                try:
                    proc = _Process(target=_child, args=(send, target, args, stop.value, hub_dir),
                                    name=f"arena-{key}",
                                    daemon=True)
                    proc.start()
                except Exception as exc:  # e.g. no file descriptors or processes left
                    recv.close()
                    send.close()
                    yield from died(key, f"its worker process could not start ({type(exc).__name__}: {exc})")
                    continue
                send.close()  # the worker holds the only write end: its exit is our EOF
                running[recv] = (key, proc)
                _running[proc.pid] = key
            if cancel.is_set():
                stop.set()
            for conn in wait(list(running), timeout=0.1):
                key, proc = running[conn]
                msg, unread = _receive(conn)
                if unread is not None:  # the worker lives on; say what could not be read if it ends unreported
                    unreadable[key] = unread
                    continue
                if isinstance(msg, tuple) and msg and msg[0] == "result":
                    results.update(msg[1])
                    reported.add(key)
                elif msg is not None:
                    yield msg
                    continue
                _reap(conn, proc)
                del running[conn]
                if key not in reported:
                    yield from died(key, unreadable.get(key) or _why(proc.exitcode))
    finally:
        stop.set()
        _drain(running)


def _receive(conn: Connection) -> tuple[Any, str | None]:
    """The next message from a worker's pipe — None once the worker has exited (or died
    mid-message) — and, for a message that could not be unpickled, why (the message is then None)."""
    try:
        data = conn.recv_bytes()
    except (EOFError, OSError):
        return None, None
    try:
        return pickle.loads(data), None
    except Exception as exc:
        return None, f"a message from its worker could not be read ({type(exc).__name__}: {exc})"


def _drain(running: dict[Connection, tuple[str, Any]]) -> None:
    """After a stop: keep reading until the workers exit — one blocked writing an iterate larger than
    the pipe's buffer would never see the stop flag — and kill those still alive ``JOIN_SECONDS`` on."""
    deadline = time.monotonic() + JOIN_SECONDS
    while running and time.monotonic() < deadline:
        for conn in wait(list(running), timeout=0.1):
            try:
                conn.recv_bytes()
            except (EOFError, OSError):
                _reap(conn, running.pop(conn)[1])
    for conn, (_, proc) in running.items():
        _reap(conn, proc, wait_seconds=0.0)


def _reap(conn: Connection, proc: Any, wait_seconds: float = JOIN_SECONDS) -> None:
    """Close a worker's pipe and wait for its exit (killing it when it does not exit in time)."""
    proc.join(wait_seconds)
    if proc.is_alive():
        proc.kill()
        proc.join()
    conn.close()
    _running.pop(proc.pid, None)


def _why(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (the system may have run out of memory)" if -exitcode == signal.SIGKILL else ""
        return f"its worker process was killed by {name}{hint}; the other methods went on"
    return f"its worker process exited with code {exitcode} before reporting; the other methods went on"
