#!/usr/bin/env python3
"""Forwards TCP connections from one network namespace to another.

    netns-forward.py LISTEN_NETNS LISTEN_HOST LISTEN_PORT CONNECT_NETNS CONNECT_HOST CONNECT_PORT

A socket stays in the network namespace it was created in, whatever namespace its process
moves to later (setns(2) applies to the calling thread; sock_create takes current->nsproxy's
net). So the main thread enters LISTEN_NETNS, listens, enters CONNECT_NETNS, and from then on
creates each outgoing socket there; pump threads only move bytes. A namespace is a path
(/run/netns/NAME, /proc/PID/ns/net); "-" is this process's own. Prints "READY <port>" (the
listening port, for LISTEN_PORT 0) once it accepts, and exits when stdin closes, so it never
outlives the test that started it.
"""
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def enter(path, own):
    fd = own if path == "-" else os.open(path, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns {path}: {os.strerror(err)}")


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


def serve(listener, connect_host, connect_port):
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection((connect_host, connect_port), timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


def main():
    listen_ns, listen_host, listen_port, connect_ns, connect_host, connect_port = sys.argv[1:7]
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    enter(listen_ns, own)
    family = socket.AF_INET6 if ":" in listen_host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((listen_host, int(listen_port)))
    listener.listen(64)
    enter(connect_ns, own)
    threading.Thread(target=serve, args=(listener, connect_host, int(connect_port)), daemon=True).start()
    print(f"READY {listener.getsockname()[1]}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
