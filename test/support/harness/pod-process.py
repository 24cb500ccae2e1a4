#!/usr/bin/env python3
"""One process of a simulated pod: a pause process, a conmon, or a container (stdlib only).

    python3 pod-process.py COMM

Started by test/support/harness/pod-process.ts, which talks to it one line at a time:

    -> (at start)             STARTED {"pid": ...}
    <- go <json socket specs>  (sent after the harness moved this process into its cgroups)
    -> READY {"sockets": [...], "timeWait": [...]}
    <- list
    -> SOCKETS {"sockets": [...], "timeWait": [...]}

Any failure prints `ERROR <message>` and exits 1. The process exits when its stdin closes,
and the kernel kills it when the harness dies (PR_SET_PDEATHSIG), so a SIGKILLed test run
leaves no process behind. Nothing here opens a socket before `go`: the harness needs the
process in the container's cgroup before its first socket exists.

Socket specs (see SocketSpec in types.ts; `port` is already resolved by the harness):
  listen      TCP listener; a thread accepts; on the peer's FIN the accepted socket is closed
              (onPeerClose "close") or kept in CLOSE_WAIT ("keep"). With "reads": false the
              accepted sockets are held and never read.
  connect     `count` ESTABLISHED client connections to address:port, each sending `send`
              bytes once connected.
  churn       a thread opening a connection to address:port every `everyMs` (`count` times, or
              for the process's life) and closing it first.
  time-wait   `count` connections that this side closes first and whose peer then closes:
              each leaves a TIME_WAIT entry (inode 0) on this side. The peer is address:port
              when given (a listener with onPeerClose "close"), else a private listener that
              is closed afterwards.
  close-wait  `count` client sockets whose peer (a private listener's accepted socket) closed
              first; they are held in CLOSE_WAIT. The peers linger as orphaned FIN_WAIT2.
  udp         a bound UDP socket.
"""

import ctypes
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
SETTLE_TIMEOUT_S = 5.0

# include/net/tcp_states.h
TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
    6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}

LOCK = threading.Lock()
HELD = []  # (role, socket); every socket must stay referenced, or Python's GC closes it
LISTENERS = []  # (socket, on_peer_close)
TIME_WAIT = []  # records of TIME_WAIT entries this process left
LABELS = {}  # listener label -> port, for specs whose port the harness could not resolve


def prctl(option, arg):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, arg, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def family_of(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def tcp_info(sock):
    """(tcpi_state, tcpi_unacked): struct tcp_info byte 0, and the u32 at offset 24, which for
    a listener is its accept-queue length (tcp_get_info in net/ipv4/tcp.c)."""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 28)
    return raw[0], int.from_bytes(raw[24:28], sys.byteorder)


def endpoint(sockaddr):
    return sockaddr[0], sockaddr[1]


def describe(role, sock):
    tcp = sock.type == socket.SOCK_STREAM
    v6 = sock.family == socket.AF_INET6
    local_address, local_port = endpoint(sock.getsockname())
    try:
        foreign_address, foreign_port = endpoint(sock.getpeername())
    except OSError:  # ENOTCONN: listener or unconnected UDP socket
        foreign_address, foreign_port = None, None
    return {
        "proto": ("tcp" if tcp else "udp") + ("6" if v6 else ""),
        "role": role,
        "state": TCP_STATES.get(tcp_info(sock)[0], "UNKNOWN") if tcp else "UNCONN",
        "localAddress": local_address,
        "localPort": local_port,
        "foreignAddress": foreign_address,
        "foreignPort": foreign_port,
        "inode": str(os.fstat(sock.fileno()).st_ino),
        "fd": sock.fileno(),
    }


def hold(role, sock):
    with LOCK:
        HELD.append((role, sock))
    return sock


def serve_forever(selector):
    """Accepts on every listener; closes (or keeps) accepted sockets when their peer closes."""
    while True:
        for key, _ in selector.select():  # epoll sees sockets registered while it waits
            kind, on_peer_close, reads = key.data
            sock = key.fileobj
            if kind == "listener":
                with LOCK:  # accept and record under the lock, so `list` never misses one
                    try:
                        conn, _ = sock.accept()
                    except BlockingIOError:
                        continue
                    HELD.append(("accepted", conn))
                if reads:
                    selector.register(conn, selectors.EVENT_READ, ("accepted", on_peer_close, True))
                continue
            try:
                data = sock.recv(65536)
            except ConnectionError:
                data = b""
            if data:
                continue  # discard what peers send
            selector.unregister(sock)
            if on_peer_close == "close":
                with LOCK:
                    HELD[:] = [(role, held) for role, held in HELD if held is not sock]
                sock.close()
            # "keep": the socket stays held, in CLOSE_WAIT


def private_listener(address):
    sock = socket.socket(family_of(address), socket.SOCK_STREAM)
    sock.bind((address, 0))
    sock.listen(16)
    return sock


def recv_eof(sock, what):
    sock.settimeout(SETTLE_TIMEOUT_S)
    try:
        while sock.recv(65536):
            pass
    except socket.timeout:
        raise RuntimeError(f"{what}: the peer did not close within {SETTLE_TIMEOUT_S}s") from None
    sock.settimeout(None)


def port_of(spec):
    """A number, or {"label": ...} naming a listener this process made earlier."""
    port = spec["port"]
    return LABELS[port["label"]] if isinstance(port, dict) else port


def make_time_wait(spec):
    address = spec.get("address", "127.0.0.1")
    private = None if spec.get("port") is not None else private_listener(address)
    target = (address, port_of(spec) if private is None else private.getsockname()[1])
    for _ in range(spec.get("count", 1)):
        client = socket.create_connection(target)
        peer = private.accept()[0] if private else None
        local, foreign = endpoint(client.getsockname()), endpoint(client.getpeername())
        client.shutdown(socket.SHUT_WR)  # we close first ...
        if peer is not None:
            recv_eof(peer, "time-wait peer")
            peer.close()  # ... then the peer: its FIN moves us from FIN_WAIT2 to TIME_WAIT
        recv_eof(client, f"time-wait towards {target[0]}:{target[1]}")
        client.close()
        TIME_WAIT.append({
            "proto": "tcp6" if client.family == socket.AF_INET6 else "tcp",
            "role": "client",
            "state": "TIME_WAIT",
            "localAddress": local[0],
            "localPort": local[1],
            "foreignAddress": foreign[0],
            "foreignPort": foreign[1],
            "inode": None,
            "fd": None,
            "createdAtMs": int(time.time() * 1000),
        })
    if private:
        private.close()


def make_close_wait(spec):
    address = spec.get("address", "127.0.0.1")
    private = private_listener(address)
    for _ in range(spec.get("count", 1)):
        client = hold("client", socket.create_connection(private.getsockname()))
        peer, _ = private.accept()
        peer.close()  # the peer closes first: our side gets its FIN and stays CLOSE_WAIT
        recv_eof(client, "close-wait client")
    private.close()


def churn(target, every_s, count):
    """Opens a connection to target and closes it first, every every_s seconds (count times, or forever)."""
    made = 0
    while count is None or made < count:
        started = time.monotonic()
        try:
            socket.create_connection(target).close()
        except OSError:
            pass  # refused, or out of ports: what the sockets show is what a test judges
        made += 1
        time.sleep(max(0.0, every_s - (time.monotonic() - started)))


def make_sockets(specs, selector):
    for spec in specs:
        kind = spec["kind"]
        address = spec.get("address")
        if kind == "listen":
            address = address or "0.0.0.0"
            sock = socket.socket(family_of(address), socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, spec["port"]))
            sock.listen(128)
            sock.setblocking(False)
            hold("listener", sock)
            if "label" in spec:
                LABELS[spec["label"]] = sock.getsockname()[1]
            on_peer_close = spec.get("onPeerClose", "close")
            LISTENERS.append((sock, on_peer_close))
            selector.register(sock, selectors.EVENT_READ, ("listener", on_peer_close, spec.get("reads", True)))
        elif kind == "connect":
            address = address or "127.0.0.1"
            for _ in range(spec.get("count", 1)):
                client = hold("client", socket.create_connection((address, port_of(spec))))
                if spec.get("send"):
                    client.sendall(b"x" * spec["send"])
        elif kind == "time-wait":
            make_time_wait(spec)
        elif kind == "close-wait":
            make_close_wait(spec)
        elif kind == "churn":
            target = (address or "127.0.0.1", port_of(spec))
            threading.Thread(target=churn, args=(target, spec["everyMs"] / 1000, spec.get("count")), daemon=True).start()
        elif kind == "udp":
            address = address or "0.0.0.0"
            sock = socket.socket(family_of(address), socket.SOCK_DGRAM)
            sock.bind((address, spec["port"]))
            hold("udp", sock)
        else:
            raise ValueError(f"unknown socket kind {kind!r}")


def report():
    """Every socket held now, once each listener's accept queue has been drained."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        with LOCK:
            if all(tcp_info(sock)[1] == 0 for sock, _ in LISTENERS) or time.monotonic() > deadline:
                return {"sockets": [describe(role, sock) for role, sock in HELD], "timeWait": TIME_WAIT}
        time.sleep(0.005)


def say(prefix, payload):
    sys.stdout.write(f"{prefix} {json.dumps(payload)}\n")
    sys.stdout.flush()


def main():
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    prctl(PR_SET_NAME, ctypes.c_char_p(sys.argv[1].encode()[:15]))
    say("STARTED", {"pid": os.getpid()})
    selector = selectors.DefaultSelector()
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "go":
            # Serve before connecting: a time-wait towards our own listener needs its close.
            threading.Thread(target=serve_forever, args=(selector,), daemon=True).start()
            make_sockets(json.loads(argument), selector)
            say("READY", report())
        elif command == "list":
            say("SOCKETS", report())
        else:
            raise ValueError(f"unknown command {command!r}")
    # stdin closed: the harness is done with us (or gone)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # report anything, then fail loudly
        say("ERROR", f"{type(error).__name__}: {error}")
        sys.exit(1)
