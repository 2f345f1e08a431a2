"""`Listener` and `Client`: sockets, TLS and the handshake around `Connection`."""

from __future__ import annotations

import contextlib
import itertools
import os
import selectors
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from .. import Limits, UnpicklingError
from ._auth import _check_authkey, _handshake
from ._conn import (
    DEFAULT_MAX_MESSAGE_SIZE,
    AuthenticationError,
    Connection,
    _describe,
    _freeze_allow,
    logger,
)

# The listener's default limit on how long one message (or the handshake) may take
# to arrive once it has started: what stops a slow-loris peer.
DEFAULT_SERVER_TIMEOUT = 30.0

# -- families ---------------------------------------------------------------

_counter = itertools.count()


def address_type(address: Any) -> str:
    """The family ('AF_INET', 'AF_INET6' or 'AF_UNIX') of an address."""
    if isinstance(address, tuple):
        return "AF_INET6" if ":" in str(address[0]) else "AF_INET"
    if isinstance(address, str | bytes):
        return "AF_UNIX"
    raise ValueError(f"address type of {address!r} unrecognized")


def _family(name: str) -> socket.AddressFamily:
    if name == "AF_PIPE":
        raise ValueError("brined.connection supports sockets only, not AF_PIPE")
    if name not in ("AF_INET", "AF_INET6", "AF_UNIX"):
        raise ValueError(f"unrecognized family {name!r}")
    family: socket.AddressFamily = getattr(socket, name)
    return family


def _arbitrary_address(family: str) -> Any:
    if family == "AF_INET":
        return ("127.0.0.1", 0)
    if family == "AF_INET6":
        return ("::1", 0)
    return os.path.join(
        tempfile.mkdtemp(prefix="brined-"), f"listener-{os.getpid()}-{next(_counter)}"
    )


# -- the public constructors -------------------------------------------------


class Listener:
    """A bound, listening socket that hands out `Connection`s.

    The stdlib's arguments (`address`, `family`, `backlog`, `authkey`) and
    methods (`accept`, `close`, `address`, `last_accepted`, context manager),
    plus: `allow`, `trusted`, `limits` for the connections' loads,
    `max_message_size`, `timeout` (per message once started, and for the
    handshake; default 30 s), `idle_timeout`, and `ssl_context` (a server-side
    `ssl.SSLContext`: every accepted socket is wrapped before the handshake).
    `serve_forever` runs a handler per client in its own thread.
    """

    def __init__(
        self,
        address: Any = None,
        family: str | None = None,
        backlog: int = 1,
        authkey: bytes | None = None,
        *,
        allow: Iterable[object] | str | None = None,
        trusted: bool = False,
        limits: Limits | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        timeout: float | None = DEFAULT_SERVER_TIMEOUT,
        idle_timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
        protocol: int | None = None,
    ) -> None:
        family = family or (address and address_type(address)) or "AF_UNIX"
        sock_family = _family(family)
        made_up = not address and family == "AF_UNIX"
        address = address or _arbitrary_address(family)
        _check_authkey(authkey)
        self._authkey = authkey
        self._options: dict[str, Any] = dict(
            allow=_freeze_allow(allow),
            trusted=trusted,
            limits=limits,
            max_message_size=max_message_size,
            timeout=timeout,
            idle_timeout=idle_timeout,
            protocol=protocol,
        )
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._unlink: str | None = None
        sock = socket.socket(sock_family)
        try:
            if sock_family != socket.AF_UNIX:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        self._socket: socket.socket | None = sock
        self._address = sock.getsockname()
        if sock_family == socket.AF_UNIX and not str(address).startswith("\0"):
            self._unlink = str(address)
        self._tempdir = os.path.dirname(address) if made_up else None
        self._last_accepted: Any = None
        self._stop = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._conns: set[Connection] = set()
        self._lock = threading.Lock()

    @property
    def address(self) -> Any:
        """The address the listener is bound to (a real port, not 0)."""
        return self._address

    @property
    def last_accepted(self) -> Any:
        """The address of the last accepted peer."""
        return self._last_accepted

    def _accept_socket(self) -> tuple[socket.socket, Any]:
        if self._socket is None:
            raise OSError("listener is closed")
        sock, address = self._socket.accept()
        self._last_accepted = address
        if sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def _establish(self, sock: socket.socket, address: Any) -> Connection:
        """TLS and the handshake for one accepted socket; close it on failure."""
        if self._ssl_context is not None:
            try:
                sock.settimeout(self._timeout)
                sock = self._ssl_context.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                logger.warning(
                    "closing connection from %s: TLS handshake failed: %s",
                    _describe(address),
                    exc,
                )
                raise AuthenticationError(f"TLS handshake failed: {exc}") from exc
        conn = Connection(sock, **self._options)
        _handshake(conn, self._authkey, True, self._timeout)
        return conn

    def accept(self) -> Connection:
        """Accept one connection: TLS (if configured) and the authkey handshake.

        Raises `AuthenticationError` (the connection closed and logged) when
        the peer fails either.
        """
        return self._establish(*self._accept_socket())

    def serve_forever(
        self,
        handler: Callable[[Connection], object],
        *,
        poll_interval: float = 0.2,
    ) -> None:
        """Accept clients until `shutdown` is called; run ``handler(conn)`` for
        each in its own thread.

        The handshake runs in the client's thread, so a slow or failing client
        delays no other.  When the handler returns or raises the connection is
        closed; errors caused by the peer are logged as warnings, others with
        their traceback; the server keeps serving.
        """
        listen = self._socket
        if listen is None:
            raise OSError("listener is closed")
        with selectors.DefaultSelector() as sel:
            sel.register(listen, selectors.EVENT_READ)
            while not self._stop.is_set():
                if not sel.select(poll_interval):
                    continue
                try:
                    sock, address = self._accept_socket()
                except OSError:
                    if self._stop.is_set() or self._socket is None:
                        break
                    continue
                thread = threading.Thread(
                    target=self._serve_one,
                    args=(sock, address, handler),
                    name=f"brined-connection-{_describe(address)}",
                    daemon=True,
                )
                with self._lock:
                    self._threads.add(thread)
                thread.start()

    def _serve_one(
        self,
        sock: socket.socket,
        address: Any,
        handler: Callable[[Connection], object],
    ) -> None:
        conn: Connection | None = None
        try:
            try:
                conn = self._establish(sock, address)
            except (AuthenticationError, OSError):
                return  # already closed and logged
            with self._lock:
                self._conns.add(conn)
            with conn:
                try:
                    handler(conn)
                except EOFError:
                    pass  # the client hung up between messages: a normal end
                except (OSError, UnpicklingError) as exc:
                    if not conn.closed:
                        conn._refuse(f"{type(exc).__name__}: {exc}", exc)
                except Exception:
                    logger.exception("handler failed for %s", conn.peer)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())
                if conn is not None:
                    self._conns.discard(conn)

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop `serve_forever`, end the clients' connections (a handler
        blocked in `recv` gets an error) and wait up to `timeout` for their
        threads."""
        self._stop.set()
        with self._lock:
            threads = list(self._threads)
            conns = list(self._conns)
        for conn in conns:
            sock = conn._sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout)

    def close(self) -> None:
        """Close the listening socket (and remove a Unix socket's file)."""
        self._stop.set()
        sock = self._socket
        if sock is not None:
            self._socket = None
            sock.close()
            if self._unlink is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self._unlink)
            if self._tempdir is not None:
                with contextlib.suppress(OSError):
                    os.rmdir(self._tempdir)

    def __enter__(self) -> Listener:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def Client(  # noqa: N802 -- the stdlib's name for this factory
    address: Any,
    family: str | None = None,
    authkey: bytes | None = None,
    *,
    allow: Iterable[object] | str | None = None,
    trusted: bool = False,
    limits: Limits | None = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    timeout: float | None = None,
    idle_timeout: float | None = None,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    connect_timeout: float | None = None,
    protocol: int | None = None,
) -> Connection:
    """Connect to a `Listener` (brined's or the stdlib's) and return a
    `Connection`.

    The stdlib's arguments plus those of `Connection`; `ssl_context` (a
    client-side `ssl.SSLContext`) wraps the socket, checking the server's
    certificate against `server_hostname` (default: the address's host).
    """
    _check_authkey(authkey)
    family = family or address_type(address)
    sock = socket.socket(_family(family))
    try:
        sock.settimeout(connect_timeout)
        sock.connect(address)
        if family != "AF_UNIX":
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:
            if server_hostname is None and isinstance(address, tuple):
                server_hostname = str(address[0])
            sock = ssl_context.wrap_socket(sock, server_hostname=server_hostname)
    except BaseException:
        sock.close()
        raise
    conn = Connection(
        sock,
        allow=allow,
        trusted=trusted,
        limits=limits,
        max_message_size=max_message_size,
        timeout=timeout,
        idle_timeout=idle_timeout,
        protocol=protocol,
    )
    _handshake(conn, authkey, False, timeout)
    return conn
