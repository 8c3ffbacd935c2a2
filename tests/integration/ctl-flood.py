#!/usr/bin/env python3
"""Hostile clients of a control socket, for the integration tests.

  ctl-flood.py idle PATH N SECONDS      keep N idle connections open for SECONDS,
                                        reconnecting each as soon as it is closed;
                                        prints how many answers said "too many"
  ctl-flood.py noread PATH N SECONDS REQUEST
                                        N connections that send REQUEST and never
                                        read, held open for SECONDS; prints "ready"
                                        once all are sent
"""
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(path)
    s.setblocking(False)
    return s


def idle(path, n, seconds):
    end = time.monotonic() + seconds
    conns, told, opened = [], 0, 0
    while time.monotonic() < end:
        while len(conns) < n:
            try:
                conns.append(connect(path))
                opened += 1
            except OSError:
                time.sleep(0.01)
                break
        keep = []
        for s in conns:
            try:
                data = s.recv(4096)
            except BlockingIOError:
                keep.append(s)
                continue
            except OSError:
                data = b""
            if b"too many control connections" in data:
                told += 1
            s.close()
        conns = keep
        time.sleep(0.01)
    for s in conns:
        s.close()
    print("opened %d told %d" % (opened, told), flush=True)


def noread(path, n, seconds, request):
    conns = []
    for _ in range(n):
        s = connect(path)
        s.sendall(request.encode() + b"\n")
        # a small receive buffer, so the answer fills it at once
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conns.append(s)
    print("ready", flush=True)
    time.sleep(seconds)
    for s in conns:
        s.close()


if __name__ == "__main__":
    mode, path, n, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    if mode == "idle":
        idle(path, n, seconds)
    else:
        noread(path, n, seconds, sys.argv[5])
