"""Launch the real app in-process on 127.0.0.1 for the API and browser tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app() -> Iterator[str]:
    """Start ``app.build_demo()`` with the production queue settings; yield its URL."""
    import app
    from ui import common as h

    demo = app.build_demo()
    demo.queue(max_size=h.QUEUE_SIZE, default_concurrency_limit=h.CONCURRENT_RUNS)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                max_file_size=h.MAX_FILE_SIZE, css=app.CSS)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
