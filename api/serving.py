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

import multiprocessing
import signal
import socket

import uvicorn

__all__ = ["serve"]


def _listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # the proto asyncio checks
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # one queue per worker, balanced by the kernel
    sock.bind((host, port))
    return sock


def _worker(app: str, host: str, port: int, factory: bool, log_level: str) -> None:
    config = uvicorn.Config(app, host=host, port=port, factory=factory, log_level=log_level)
    uvicorn.Server(config).run(sockets=[_listener(host, port)])


def serve(app: str, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, factory: bool = False,
          log_level: str = "info") -> None:
    """Serve ``app`` ("module:attribute") with ``workers`` processes (1: in this process)."""
    if workers <= 1:
        uvicorn.run(app, host=host, port=port, factory=factory, log_level=log_level)
        return
    _listener(host, port).close()  # fail here, once, if the port is taken
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_worker, args=(app, host, port, factory, log_level), name=f"worker-{i}")
             for i in range(workers)]
    for proc in procs:
        proc.start()

    def stop(*_: object) -> None:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        for proc in procs:
            proc.join()
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
