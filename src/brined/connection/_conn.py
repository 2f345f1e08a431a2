"""`Connection`: one end of a message connection; the framing and the errors."""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl
import struct
import time
from collections.abc import Iterable
from multiprocessing import AuthenticationError, BufferTooShort
from types import TracebackType
from typing import Any

from .. import Limits, Policy, UnpicklingError, dumps, loads

__all__ = [
    "AuthenticationError",
    "BufferTooShort",
    "Connection",
    "MessageTooLargeError",
    "ProtocolError",
    "WireTimeoutError",
]

logger = logging.getLogger("brined.connection")

# 64 MiB: far above a typical message, far below what a hostile length could ask.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024

_HEADER = struct.Struct("!i")
_LONG_HEADER = struct.Struct("!Q")
_MAX_SHORT = 0x7FFFFFFF
# Below this size the header and body go out in one send (as the stdlib does, so
# Nagle's algorithm does not hold back a small message).
_CONCAT_LIMIT = 16384


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
