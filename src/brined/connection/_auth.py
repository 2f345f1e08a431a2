"""The stdlib's authkey handshake (HMAC challenge and answer), both sides."""

from __future__ import annotations

import hmac
import os

from ._conn import AuthenticationError, Connection

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
