#!/usr/bin/env python3
"""Connection churn for `npm run bench`'s agent case (bench/agent-case.ts starts it with nsenter
inside one bench namespace).

Holds a pool of loopback TCP connections to its own listener and replaces --rate of them per
second for --duration seconds: the oldest connection is closed the ordinary way (client first,
so it passes through TIME_WAIT as on a real node) and a new one opened. Prints READY once the
pool is up, then one DONE line with counts, and exits when the duration is over or stdin reaches
EOF (the bench closed the pipe or died), whichever comes first.

Only the Python 3 standard library; only loopback addresses.
"""
import argparse
import collections
import select
import socket
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, required=True, help="connections replaced per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds of churn, then exit")
    parser.add_argument("--pool", type=int, default=200, help="connections held at any time")
    args = parser.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]

    def pair() -> tuple:
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        server, _ = listener.accept()
        return client, server

    pool = collections.deque(pair() for _ in range(args.pool))
    print(f"READY port={port} pool={len(pool)}", flush=True)

    tick = 0.1
    started = time.monotonic()
    deadline = started + args.duration
    replaced = 0
    owed = 0.0
    next_tick = started
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        wait = max(0.0, next_tick - now)
        ready, _, _ = select.select([sys.stdin], [], [], wait)
        if ready and not sys.stdin.buffer.read1(4096):
            break
        next_tick += tick
        owed += args.rate * tick
        while owed >= 1 and time.monotonic() < deadline:
            owed -= 1
            client, server = pool.popleft()
            client.close()
            server.close()
            pool.append(pair())
            replaced += 1

    elapsed = time.monotonic() - started
    print(f"DONE replaced={replaced} seconds={elapsed:.2f}", flush=True)
    for client, server in pool:
        client.close()
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
