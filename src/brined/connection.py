"""A safe wire: `Listener`, `Client` and `Connection`, drop-ins for
`multiprocessing.connection`'s that load what they receive with brined's safe policy.

Rules of this module:

* The wire format is the stdlib's and never changes: each message is a 4-byte
  big-endian signed length and the body; a body longer than 0x7fffffff is sent as
  the length -1 followed by an 8-byte big-endian unsigned length.  The ``authkey``
  handshake is the stdlib's HMAC challenge (the 3.12 form: ``{sha256}``-prefixed
  challenges, and legacy raw HMAC-MD5 answers from 3.11 and older peers).
* A length is checked against the connection's ``max_message_size`` before one
  byte of the body is read; once a message has started, all of it must arrive
  within ``timeout`` seconds.
* Whatever a peer does wrong (a refused pickle, an oversized length, garbage, a
  stall, a disconnect in the middle of a message, a failed handshake) closes that
  connection, logs the reason on the ``brined.connection`` logger and raises; no
  other connection is touched.
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import logging
import os
import selectors
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from multiprocessing import AuthenticationError, BufferTooShort
from types import TracebackType
from typing import Any

from . import Limits, Policy, UnpicklingError, dumps, loads

__all__ = [
    "AuthenticationError",
    "BufferTooShort",
    "Client",
    "Connection",
    "Listener",
    "MessageTooLargeError",
    "ProtocolError",
    "WireTimeoutError",
    "DEFAULT_MAX_MESSAGE_SIZE",
]

logger = logging.getLogger("brined.connection")

# 64 MiB: far above a typical message, far below what a hostile length could ask.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024
# The listener's default limit on how long one message (or the handshake) may take
# to arrive once it has started: what stops a slow-loris peer.
DEFAULT_SERVER_TIMEOUT = 30.0

_HEADER = struct.Struct("!i")
_LONG_HEADER = struct.Struct("!Q")
_MAX_SHORT = 0x7FFFFFFF
# Below this size the header and body go out in one send (as the stdlib does, so
# Nagle's algorithm does not hold back a small message).
_CONCAT_LIMIT = 16384

_CHALLENGE = b"#CHALLENGE#"
_WELCOME = b"#WELCOME#"
_FAILURE = b"#FAILURE#"
_CHALLENGE_RANDOM = 40
_LEGACY_CHALLENGE_RANDOM = 20
_MD5_LEN = 16
_LEGACY_LENGTHS = (_LEGACY_CHALLENGE_RANDOM, _MD5_LEN)
_DIGESTS = frozenset({b"md5", b"sha256", b"sha384", b"sha3_256", b"sha3_384"})
_MAX_DIGEST_NAME = max(len(d) for d in _DIGESTS)
_HANDSHAKE_MAX = 256


class ProtocolError(OSError):
    """The peer broke the wire protocol; the connection has been closed."""


class MessageTooLargeError(ProtocolError):
    """A message's length prefix is above the connection's limit.

    Raised before any of the body is read.  `size` is the announced length and
    `limit` the connection's ``max_message_size``.
    """

    def __init__(self, message: str, *, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class WireTimeoutError(ProtocolError, TimeoutError):
    """A message or the handshake did not arrive completely in time."""


class _Truncated(ProtocolError):
    """The peer disconnected in the middle of a message."""


def _freeze_allow(allow: Iterable[object] | str | None) -> Any:
    # A generator given as allow= would be used up by the first load.
    if allow is None or isinstance(allow, str | Policy):
        return allow
    return tuple(allow)


def _header(size: int) -> bytes:
    """The length prefix the stdlib writes for a body of `size` bytes."""
    if size > _MAX_SHORT:
        return _HEADER.pack(-1) + _LONG_HEADER.pack(size)
    return _HEADER.pack(size)


class Connection:
    """One end of a message connection over a socket (TCP, Unix or TLS).

    The same methods as `multiprocessing.connection.Connection`: `send`,
    `recv`, `send_bytes`, `recv_bytes`, `recv_bytes_into`, `poll`, `fileno`,
    `close`, and use as a context manager.  `recv` loads with brined's safe
    policy: `allow` adds names to the allowlist, ``trusted=True`` loads
    anything (only for peers you trust), `limits` bound the load.

    `max_message_size` bounds every received message (checked before the body
    is read); `timeout` bounds how long a message may take to arrive once its
    first byte has (None: no bound); `idle_timeout` bounds the wait for the next
    message to start (None: wait forever).  Any error caused by the peer closes
    the connection and is logged on the ``brined.connection`` logger.
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        allow: Iterable[object] | str | None = None,
        trusted: bool = False,
        limits: Limits | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        timeout: float | None = None,
        idle_timeout: float | None = None,
        protocol: int | None = None,
    ) -> None:
        if max_message_size < 0:
            raise ValueError("max_message_size must be >= 0")
        self._sock: socket.socket | None = sock
        sock.settimeout(None)
        self._allow = _freeze_allow(allow)
        self._trusted = trusted
        self._limits = limits
        self.max_message_size = max_message_size
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.protocol = protocol
        try:
            self._peer = _describe(sock.getpeername())
        except OSError:
            self._peer = "unconnected peer"

    # -- state -------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True if the connection is closed."""
        return self._sock is None

    @property
    def readable(self) -> bool:
        """True: a socket connection is always readable while open."""
        return True

    @property
    def writable(self) -> bool:
        """True: a socket connection is always writable while open."""
        return True

    @property
    def peer(self) -> str:
        """The peer's address, as text for logs."""
        return self._peer

    def _check(self) -> socket.socket:
        if self._sock is None:
            raise OSError("handle is closed")
        return self._sock

    def fileno(self) -> int:
        """The socket's file descriptor."""
        return self._check().fileno()

    def close(self) -> None:
        """Close the connection (a no-op when already closed)."""
        sock = self._sock
        if sock is not None:
            self._sock = None
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_sock", None) is not None:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self._sock is None else "open"
        return f"<brined.connection.Connection {state} {self._peer}>"

    def _refuse(self, reason: str, exc: BaseException) -> BaseException:
        """Close for a fault of the peer's, log why, and hand back `exc`."""
        logger.warning("closing connection from %s: %s", self._peer, reason)
        self.close()
        return exc

    # -- sending -----------------------------------------------------------

    def send_bytes(self, buf: Any, offset: int = 0, size: int | None = None) -> None:
        """Send the bytes of a bytes-like object as one message."""
        sock = self._check()
        view = memoryview(buf)
        with view:
            itemsize = view.itemsize
            nbytes = view.nbytes
            if offset < 0:
                raise ValueError("offset is negative")
            if nbytes < offset * itemsize:
                raise ValueError("buffer length < offset")
            if size is None:
                size = nbytes // itemsize - offset
            elif size < 0:
                raise ValueError("size is negative")
            elif (offset + size) * itemsize > nbytes:
                raise ValueError("buffer length < offset + size")
            flat = view.cast("B")
            body = flat[offset * itemsize : (offset + size) * itemsize]
            self._send_message(sock, body)

    def send(self, obj: Any) -> None:
        """Pickle `obj` with brined and send it as one message."""
        sock = self._check()
        self._send_message(sock, memoryview(dumps(obj, self.protocol)))

    def _send_message(self, sock: socket.socket, body: memoryview) -> None:
        header = _header(body.nbytes)
        if body.nbytes <= _CONCAT_LIMIT:
            sock.sendall(header + body.tobytes())
        else:
            sock.sendall(header)
            sock.sendall(body)

    # -- receiving ---------------------------------------------------------

    @staticmethod
    def _set_timeout(sock: socket.socket, value: float | None) -> None:
        if sock.gettimeout() != value:  # each change is a system call
            sock.settimeout(value)

    def _read_exact(
        self, sock: socket.socket, view: memoryview, deadline: float | None
    ) -> None:
        got = 0
        want = view.nbytes
        while got < want:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out")
                sock.settimeout(left)
            n = sock.recv_into(view[got:])
            if n == 0:
                raise _Truncated("got end of file during message")
            got += n

    def _recv_size(self, sock: socket.socket, limit: int) -> tuple[int, float | None]:
        """Read one length prefix: EOFError at a clean end of stream.

        Returns the size and the deadline for the rest of the message."""
        header = bytearray(4)
        view = memoryview(header)
        self._set_timeout(sock, self.idle_timeout)
        try:
            got = sock.recv_into(view)
        except TimeoutError:
            raise self._refuse(
                f"idle for more than {self.idle_timeout} s",
                WireTimeoutError("no message within the idle timeout"),
            ) from None
        if got == 0:
            raise EOFError
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        if got < 4:
            self._read_exact(sock, view[got:], deadline)
        (size,) = _HEADER.unpack(header)
        if size == -1:
            long = bytearray(8)
            self._read_exact(sock, memoryview(long), deadline)
            (size,) = _LONG_HEADER.unpack(long)
        elif size < 0:
            raise self._refuse(
                f"bad message length {size}",
                ProtocolError(f"bad message length {size}"),
            )
        if size > limit:
            raise self._refuse(
                f"message of {size} bytes announced, the limit is {limit}",
                MessageTooLargeError(
                    f"message of {size} bytes is larger than the limit of "
                    f"{limit} bytes",
                    size=size,
                    limit=limit,
                ),
            )
        return size, deadline

    def _recv_message(self, maxlength: int | None) -> bytearray:
        sock = self._check()
        limit = self.max_message_size
        if maxlength is not None:
            limit = min(limit, maxlength)
        try:
            size, deadline = self._recv_size(sock, limit)
            body = bytearray(size)
            self._read_exact(sock, memoryview(body), deadline)
            return body
        except _Truncated as exc:
            raise self._refuse("disconnected in the middle of a message", exc) from None
        except ProtocolError:
            raise  # already closed and logged
        except TimeoutError:
            raise self._refuse(
                f"message not complete within {self.timeout} s",
                WireTimeoutError(f"message not complete within {self.timeout} s"),
            ) from None
        except ssl.SSLError as exc:
            raise self._refuse(f"TLS error: {exc}", exc) from None
        except ConnectionError as exc:
            raise self._refuse(f"connection error: {exc}", exc) from None
        finally:
            if self._sock is not None:
                self._set_timeout(sock, None)

    def recv_bytes(self, maxlength: int | None = None) -> bytes:
        """Receive one message's bytes.

        Raises EOFError at the end of the stream and an OSError (the connection
        then closed) when the message is longer than `maxlength` or the
        connection's ``max_message_size``.
        """
        if maxlength is not None and maxlength < 0:
            raise ValueError("negative maxlength")
        return bytes(self._recv_message(maxlength))

    def recv_bytes_into(self, buf: Any, offset: int = 0) -> int:
        """Receive one message into a writable buffer; return its length.

        Raises `BufferTooShort` (holding the message) when it does not fit.
        """
        with memoryview(buf) as target:
            itemsize = target.itemsize
            bytesize = itemsize * len(target)
            if offset < 0:
                raise ValueError("negative offset")
            if offset > bytesize:
                raise ValueError("offset too large")
            body = self._recv_message(None)
            size = len(body)
            if bytesize - offset < size:
                raise BufferTooShort(bytes(body))
            target.cast("B")[offset : offset + size] = body
            return size // itemsize

    def recv(self) -> Any:
        """Receive one message and load it with brined's safe policy.

        A pickle the policy refuses (or one that is malformed) closes the
        connection, is logged, and raises the `brined.UnpicklingError`.
        """
        body = self._recv_message(None)
        try:
            return loads(
                body, trusted=self._trusted, allow=self._allow, limits=self._limits
            )
        except UnpicklingError as exc:
            raise self._refuse(f"refused message: {exc}", exc) from None

    def poll(self, timeout: float | None = 0.0) -> bool:
        """Whether there is data to read (waiting up to `timeout` seconds;
        None waits forever)."""
        sock = self._check()
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_READ)
            return bool(sel.select(timeout))


def _describe(address: Any) -> str:
    if isinstance(address, tuple):
        return f"{address[0]}:{address[1]}"
    return repr(address) if address else "unix socket peer"


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


# -- the handshake ----------------------------------------------------------


def _digest_and_payload(message: bytes) -> tuple[str, bytes]:
    if len(message) in _LEGACY_LENGTHS:
        return "", message
    if message.startswith(b"{"):
        curly = message.find(b"}", 1, _MAX_DIGEST_NAME + 2)
        if curly > 0 and message[1:curly] in _DIGESTS:
            return message[1:curly].decode("ascii"), message[curly + 1 :]
    raise AuthenticationError("unsupported message length or digest in handshake")


def _respond(authkey: bytes, message: bytes) -> bytes:
    name = _digest_and_payload(message)[0]
    if not name:
        return hmac.new(authkey, message, "md5").digest()
    mac = hmac.new(authkey, message, name).digest()
    return b"{" + name.encode("ascii") + b"}" + mac


def _verify(authkey: bytes, message: bytes, response: bytes) -> None:
    name, mac = _digest_and_payload(response)
    expected = hmac.new(authkey, message, name or "md5").digest()
    if len(expected) != len(mac) or not hmac.compare_digest(expected, mac):
        raise AuthenticationError("digest received was wrong")


def deliver_challenge(conn: Connection, authkey: bytes) -> None:
    """The server's half of the stdlib's authkey handshake."""
    message = b"{sha256}" + os.urandom(_CHALLENGE_RANDOM)
    conn.send_bytes(_CHALLENGE + message)
    response = conn.recv_bytes(_HANDSHAKE_MAX)
    try:
        _verify(authkey, message, response)
    except AuthenticationError:
        conn.send_bytes(_FAILURE)
        raise
    conn.send_bytes(_WELCOME)


def answer_challenge(conn: Connection, authkey: bytes) -> None:
    """The client's half of the stdlib's authkey handshake."""
    message = conn.recv_bytes(_HANDSHAKE_MAX)
    if not message.startswith(_CHALLENGE):
        raise AuthenticationError("protocol error: expected a challenge")
    message = message[len(_CHALLENGE) :]
    if len(message) < _LEGACY_CHALLENGE_RANDOM:
        raise AuthenticationError("challenge too short")
    conn.send_bytes(_respond(authkey, message))
    if conn.recv_bytes(_HANDSHAKE_MAX) != _WELCOME:
        raise AuthenticationError("digest sent was rejected")


def _handshake(
    conn: Connection, authkey: bytes | None, server: bool, timeout: float | None
) -> None:
    """Run the authkey handshake under one deadline; close and raise on failure."""
    if not authkey:
        return
    saved = conn.timeout, conn.idle_timeout
    conn.timeout = conn.idle_timeout = timeout
    try:
        if server:
            deliver_challenge(conn, authkey)
            answer_challenge(conn, authkey)
        else:
            answer_challenge(conn, authkey)
            deliver_challenge(conn, authkey)
    except AuthenticationError as exc:
        raise conn._refuse(f"authentication failed: {exc}", exc) from None
    except EOFError:
        conn.close()
        raise AuthenticationError(
            "peer closed the connection during the handshake"
        ) from None
    except OSError as exc:
        if conn.closed:
            raise AuthenticationError(f"handshake failed: {exc}") from exc
        raise conn._refuse(
            f"handshake failed: {exc}", AuthenticationError(str(exc))
        ) from exc
    conn.timeout, conn.idle_timeout = saved


def _check_authkey(authkey: object) -> None:
    if authkey is not None and not isinstance(authkey, bytes):
        raise TypeError("authkey should be a byte string")


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
