#!/usr/bin/env python3
"""Says whether the NATS server at host:port answers JetStream API requests.

A nats-server that hit a disk error (a full disk, say) disables JetStream and keeps serving
core NATS: the port is open, yet every stream request times out. The test script restarts
such a server instead of letting the suites fail one timeout at a time.

Usage: jetstream_probe.py [host] [port]; exit 0 when `$JS.API.INFO` answers, 1 otherwise.
Standard library only (the NATS wire protocol is a few text lines).
"""
import json
import socket
import sys
import time


def probe(host: str, port: int, timeout: float = 3.0) -> tuple[bool, str]:
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        return False, f"cannot connect: {error}"
    with sock:
        sock.settimeout(timeout)
        buffer = b""

        def read_line() -> bytes:
            nonlocal buffer
            while b"\r\n" not in buffer:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed by the server")
                buffer += chunk
            line, buffer = buffer.split(b"\r\n", 1)
            return line

        try:
            info = read_line()
            if not info.startswith(b"INFO "):
                return False, f"not a NATS server: {info[:80]!r}"
            connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                       "name": "relance-jetstream-probe", "lang": "python", "version": "1"}
            sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\n"
                         + b"SUB _INBOX.relance_probe 1\r\n"
                         + b"PUB $JS.API.INFO _INBOX.relance_probe 0\r\n\r\nPING\r\n")
            while True:
                line = read_line()
                if line.startswith(b"PING"):
                    sock.sendall(b"PONG\r\n")
                elif line.startswith(b"MSG "):
                    size = int(line.split()[-1])
                    while len(buffer) < size + 2:
                        buffer += sock.recv(65536)
                    body = buffer[:size]
                    reply = json.loads(body or b"{}")
                    if "error" in reply:
                        return False, f"JetStream answered an error: {reply['error']}"
                    return True, "JetStream answers"
                elif line.startswith(b"HMSG "):
                    return False, "JetStream is not enabled (no responders)"
                elif line.startswith(b"-ERR"):
                    return False, line.decode(errors="replace")
        except (TimeoutError, socket.timeout):
            return False, "JetStream did not answer in time (disabled after a disk error?)"
        except (ConnectionError, OSError, ValueError) as error:
            return False, str(error)


if __name__ == "__main__":
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 4222
    ok, why = probe(host, port)
    print(why)
    sys.exit(0 if ok else 1)
