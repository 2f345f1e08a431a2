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

from ._auth import answer_challenge, deliver_challenge
from ._conn import (
    DEFAULT_MAX_MESSAGE_SIZE,
    AuthenticationError,
    BufferTooShort,
    Connection,
    MessageTooLargeError,
    ProtocolError,
    WireTimeoutError,
)
from ._listener import DEFAULT_SERVER_TIMEOUT, Client, Listener, address_type

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_SERVER_TIMEOUT",
    "AuthenticationError",
    "BufferTooShort",
    "Client",
    "Connection",
    "Listener",
    "MessageTooLargeError",
    "ProtocolError",
    "WireTimeoutError",
    "address_type",
    "answer_challenge",
    "deliver_challenge",
]
