"""Running the service on several processes: one SO_REUSEPORT listener each, Nagle off.

Two traps of uvicorn's own ``--workers N``, both measured here:

* it binds the listening socket with ``proto = 0``; accepted sockets inherit it, and asyncio only turns
  on ``TCP_NODELAY`` for ``proto == IPPROTO_TCP``, so every keep-alive response waits for the client's
  delayed ACK — 44 ms per request (1,300 → 23 req/s at concurrency 1; uvicorn issue #3149);
* its workers share one listening socket, and whichever accepts first takes the connections: at
  concurrency 8, one of two workers served nearly all of them (101 req/s, as with one worker).

Here each worker binds its own ``SO_REUSEPORT`` socket with ``IPPROTO_TCP``: the kernel spreads the
connections over the workers, and responses leave at once.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import signal
import socket
import threading
from multiprocessing.sharedctypes import Synchronized

import uvicorn

__all__ = ["serve"]


def _listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # the proto asyncio checks
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # one queue per worker, balanced by the kernel
    sock.bind((host, port))
    return sock


#: In a worker: the supervisor's shared counter of restarted workers, for /metrics.
_SHARED: dict[str, Synchronized] = {}
log = logging.getLogger("creditscore.serving")


def restarts() -> int:
    """Workers the supervisor restarted since it started (0 in a single-process service)."""
    counter = _SHARED.get("restarts")
    return counter.value if counter is not None else 0


def _worker(app: str, host: str, port: int, factory: bool, log_level: str, *, counter: Synchronized) -> None:
    # set before the app is built, on the module the app reads (under `python -m api.serving` this function runs
    # from __main__, a second copy of this module)
    importlib.import_module("api.serving")._SHARED["restarts"] = counter
    config = uvicorn.Config(app, host=host, port=port, factory=factory, log_level=log_level)
    uvicorn.Server(config).run(sockets=[_listener(host, port)])


def serve(app: str, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, factory: bool = False,
          log_level: str = "info", check_every: float = 0.5) -> None:
    """Serve ``app`` ("module:attribute") with ``workers`` processes (1: in this process).

    With several, this process supervises them: a worker that dies (killed, out of memory, a crash in native
    code) is logged with its exit code and started again, and the count is in every worker's /metrics
    (``creditscore_worker_restarts_total``). SIGTERM or Ctrl-C stops them all.
    """
    if workers <= 1:
        uvicorn.run(app, host=host, port=port, factory=factory, log_level=log_level)
        return
    _listener(host, port).close()  # fail here, once, if the port is taken
    context = multiprocessing.get_context("spawn")
    counter = context.Value("i", 0)
    stopping = threading.Event()

    def start(i: int) -> multiprocessing.process.BaseProcess:
        proc = context.Process(target=_worker, args=(app, host, port, factory, log_level),
                               kwargs={"counter": counter}, name=f"worker-{i}")
        proc.start()
        return proc

    procs = [start(i) for i in range(workers)]

    def stop(*_: object) -> None:
        stopping.set()
        for proc in procs:
            if proc.is_alive():
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping.is_set():
            for i, proc in enumerate(procs):
                if not proc.is_alive() and not stopping.is_set():
                    log.warning("worker %d (pid %s) exited with code %s: starting a new one", i, proc.pid,
                                proc.exitcode)
                    with counter.get_lock():
                        counter.value += 1
                    procs[i] = start(i)
            stopping.wait(check_every)
    except KeyboardInterrupt:
        stop()
    for proc in procs:
        proc.join(timeout=10)


if __name__ == "__main__":  # used by benchmarks/api.py to serve both apps the same way
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--factory", action="store_true")
    args = parser.parse_args()
    serve(args.app, port=args.port, workers=args.workers, factory=args.factory, log_level="warning")
