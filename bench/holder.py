#!/usr/bin/env python3
"""Socket holder for `npm run bench` (bench/fixture.ts starts one or more per bench namespace).

Runs inside a network namespace the bench created, opens loopback TCP connections to its own
listener (two sockets each: client + accepted), prints one READY line, then holds everything
until stdin reaches EOF (the bench closed the pipe or died) or --lifetime seconds pass,
whichever comes first. Held sockets carry SO_LINGER 0 so that exit (even SIGKILL) resets
them instead of leaving TIME_WAIT entries in the host-wide hash.

Only the Python 3 standard library; only loopback addresses.
"""
import argparse
import os
import resource
import select
import socket
import struct
import sys
import time

LINGER_RESET = struct.pack("ii", 1, 0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--lifetime", type=float, required=True, help="seconds; exit after this")
    parser.add_argument("--close-wait", type=int, default=0, help="extra connections left in CLOSE_WAIT")
    parser.add_argument("--time-wait", type=int, default=0, help="extra connections left in TIME_WAIT")
    parser.add_argument("--port-range", default="", help="set net.ipv4.ip_local_port_range of this netns")
    args = parser.parse_args()
    deadline = time.monotonic() + args.lifetime

    if args.port_range:
        with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
            f.write(args.port_range)

    # Raise the soft fd limit only up to the hard limit (20,000 on the bench machine).
    need = 2 * (args.connections + args.close_wait + args.time_wait) + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = hard if hard != resource.RLIM_INFINITY else need
    if need > limit:
        print(f"ERROR need {need} fds, hard limit is {limit}", file=sys.stderr, flush=True)
        return 2
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    port = listener.getsockname()[1]
    # An IPv6 listener too, so that tcp6 is not empty in the bench namespaces.
    listener6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener6.bind(("::1", 0))
    listener6.listen(16)

    held = [listener, listener6]

    def pair() -> tuple:
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        server, _ = listener.accept()
        return client, server

    for _ in range(args.connections):
        if time.monotonic() > deadline:
            print("ERROR lifetime expired while connecting", file=sys.stderr, flush=True)
            return 3
        client, server = pair()
        for s in (client, server):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
            held.append(s)
    for _ in range(args.close_wait):
        client, server = pair()
        server.close()  # FIN to the client: the client side sits in CLOSE_WAIT while held
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        held.append(client)
    for _ in range(args.time_wait):
        client, server = pair()
        client.close()  # active closer: TIME_WAIT (no inode, no fd) for tcp_fin_timeout
        server.close()

    print(f"READY pid={os.getpid()} sockets={len(held)} port={port}", flush=True)

    # Hold until stdin EOF (the bench is gone or done) or the lifetime ends.
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([sys.stdin], [], [], min(left, 5.0))
        if ready and not sys.stdin.buffer.read1(4096):
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
