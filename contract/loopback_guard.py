"""Schemathesis hooks file: the contract run may only talk to loopback.

scripts/schemathesis.sh loads this through SCHEMATHESIS_HOOKS before any
request is made. It wraps `socket.socket.connect`, the one call every HTTP
client in the process (requests/urllib3, used by schemathesis) goes through
to open a TCP connection, and refuses any address outside 127.0.0.0/8 and
::1. A refused connection fails the request (and so the run) loudly instead
of sending a single packet anywhere else. Unix sockets are left alone.

It defines no schemathesis hook functions: it changes nothing about how
cases are generated, sent or checked.
"""

from __future__ import annotations

import ipaddress
import socket

_ALLOWED_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class NonLoopbackConnection(ConnectionRefusedError):
    """Raised instead of connecting to an address that is not loopback."""


def _check(sock: socket.socket, address: object) -> None:
    if sock.family not in _ALLOWED_FAMILIES:
        return
    host = address[0] if isinstance(address, tuple) and address else address
    try:
        ip = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        # connect() is always given a resolved address; anything else is refused.
        raise NonLoopbackConnection(f"contract run: refusing to connect to {address!r}") from None
    if not ip.is_loopback:
        raise NonLoopbackConnection(
            f"contract run: refusing to connect to {address!r}; only loopback addresses are allowed"
        )


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _connect_ex(self, address)


if getattr(socket.socket.connect, "__name__", "") != "_guarded_connect":
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
