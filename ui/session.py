"""Per-browser-session bookkeeping: each session's Stop flag and its private temporary folder."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

TMP_ROOT = Path(tempfile.gettempdir()) / "restoration-arena"


class Runs:
    """Stop flags by session hash, so that Stop from one browser never stops another's run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: dict[str, threading.Event] = {}

    def start(self, session: str) -> threading.Event:
        with self._lock:
            flag = self._flags[session] = threading.Event()
            return flag

    def current(self, session: str) -> threading.Event | None:
        """The flag of the session's run, if one was started (it may still wait in the queue)."""
        with self._lock:
            return self._flags.get(session)

    def stop(self, session: str) -> bool:
        with self._lock:
            flag = self._flags.get(session)
        if flag is None:
            return False
        flag.set()
        return True

    def finish(self, session: str, flag: threading.Event) -> None:
        with self._lock:
            if self._flags.get(session) is flag:
                del self._flags[session]


def session_dir(session: str) -> Path:
    """A fresh private folder for one run of one session (old runs of that session are removed)."""
    safe = "".join(c for c in session if c.isalnum())[:40] or "anonymous"
    base = TMP_ROOT / safe
    if base.exists():
        shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=base))
