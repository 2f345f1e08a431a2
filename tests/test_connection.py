"""brined.connection: the stdlib's wire, loaded safely.

Oracles: the stdlib's `multiprocessing.connection` at the other end of a real
socket (in this process, in a child process, and in other CPython versions when
they are installed), `struct` for the framing, and the logged reasons.
"""

from __future__ import annotations

import datetime
import logging
import os
import pickle
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from multiprocessing import connection as mpc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brined
from brined import connection as bc
from brined.connection._conn import _header

pytestmark = pytest.mark.timeout(60)

LOOPBACK = ("127.0.0.1", 0)
KEY = b"secret key"


def _other_pythons() -> dict[str, str]:
    """Other CPython versions for the wire-compatibility tests: the paths in
    BRINED_TEST_PYTHONS (separated by os.pathsep), else python3.12 and
    python3.13 from PATH or from pyenv's versions; each kept only if it runs
    and is not this version."""
    named = os.environ.get("BRINED_TEST_PYTHONS")
    if named:
        candidates: list[str | None] = list(named.split(os.pathsep))
    else:
        pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
        candidates = [shutil.which(f"python3.{minor}") for minor in (12, 13)]
        candidates += [
            str(p) for p in sorted(pyenv.glob("versions/3.1[23]*/bin/python"))
        ]
    found: dict[str, str] = {}
    for path in candidates:
        if not path:
            continue
        try:
            done = subprocess.run(
                [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        version = done.stdout.strip()
        if done.returncode == 0 and version not in {"", _THIS, *found.values()}:
            found[path] = version
    return found


_THIS = "{}.{}".format(*sys.version_info[:2])
_VERSIONS = _other_pythons()
OTHER_PYTHONS = list(_VERSIONS)


def _version(python: str) -> str:
    return "this" if python == sys.executable else f"python{_VERSIONS[python]}"


class Boom:
    """Unpickling this runs `os.system` under a trusting loader."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def pair(**options):  # type: ignore[no-untyped-def]
    """A stdlib Connection and a brined Connection joined by a socketpair."""
    a, b = socket.socketpair()
    return mpc.Connection(a.detach()), bc.Connection(b, **options)


def raw_client(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=10)


def drain(s: socket.socket) -> None:
    """Read until the server hangs up."""
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        pass


# -- framing and the stdlib as oracle ---------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=70000))
def test_bytes_cross_both_ways_unchanged(payload: bytes) -> None:
    std, ours = pair()
    with std, ours:
        std.send_bytes(payload)
        assert ours.recv_bytes() == payload
        ours.send_bytes(payload)
        assert std.recv_bytes() == payload


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c) | st.tuples(c, c),
        max_leaves=20,
    )
)
def test_objects_cross_both_ways_equal(obj: object) -> None:
    std, ours = pair()
    with std, ours:
        std.send(obj)
        got = ours.recv()
        ours.send(obj)
        back = std.recv()
    assert pickle.dumps(got) == pickle.dumps(obj)
    assert pickle.dumps(back) == pickle.dumps(obj)


def test_send_writes_what_the_stdlib_pickler_writes() -> None:
    std, ours = pair()
    obj = {"a": [1, 2.5, "x", b"y"], "b": (None, True)}
    with std, ours:
        ours.send(obj)
        assert std.recv_bytes() == pickle.dumps(obj)


def test_header_is_the_stdlib_framing() -> None:
    assert _header(5) == struct.pack("!i", 5)
    assert _header(0x7FFFFFFF) == struct.pack("!i", 0x7FFFFFFF)
    assert _header(0x80000000) == struct.pack("!i", -1) + struct.pack("!Q", 0x80000000)


def test_long_header_form_is_read_like_the_stdlib() -> None:
    # A body announced in the -1 + 8-byte form, as the stdlib sends above 2 GiB.
    framed = struct.pack("!i", -1) + struct.pack("!Q", 3) + b"abc"
    for reader in ("std", "ours"):
        a, b = socket.socketpair()
        conn = mpc.Connection(b.detach()) if reader == "std" else bc.Connection(b)
        with a, conn:
            a.sendall(framed)
            assert conn.recv_bytes() == b"abc"


def test_send_bytes_offset_and_size_as_the_stdlib() -> None:
    std, ours = pair()
    with std, ours:
        ours.send_bytes(b"abcdefgh", 2, 3)
        assert std.recv_bytes() == b"cde"
        with pytest.raises(ValueError):
            ours.send_bytes(b"abc", 2, 5)


def test_recv_bytes_into_and_buffer_too_short() -> None:
    std, ours = pair()
    with std, ours:
        std.send_bytes(b"hello")
        buf = bytearray(8)
        assert ours.recv_bytes_into(buf, 2) == 5
        assert bytes(buf) == b"\0\0hello\0"
        std.send_bytes(b"too long for it")
        with pytest.raises(bc.BufferTooShort) as info:
            ours.recv_bytes_into(bytearray(4))
        assert info.value.args[0] == b"too long for it"


def test_poll_sees_a_pending_message() -> None:
    std, ours = pair()
    with std, ours:
        assert not ours.poll()
        std.send(1)
        assert ours.poll(5)
        assert ours.recv() == 1


def test_eof_at_a_message_boundary_is_eoferror() -> None:
    std, ours = pair()
    std.close()
    with ours, pytest.raises(EOFError):
        ours.recv()


def test_closed_connection_raises_oserror() -> None:
    std, ours = pair()
    with std:
        ours.close()
        assert ours.closed
        with pytest.raises(OSError, match="closed"):
            ours.recv()


def test_maxlength_refuses_and_closes_like_the_stdlib() -> None:
    std, ours = pair()
    with std, ours:
        std.send_bytes(b"x" * 100)
        with pytest.raises(OSError):
            ours.recv_bytes(10)
        assert ours.closed


# -- the safe policy ----------------------------------------------------------


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "ran"
    std, ours = pair()
    with std, ours, caplog.at_level(logging.WARNING, "brined.connection"):
        std.send(Boom(marker))
        with pytest.raises(brined.UnsafeGlobalError):
            ours.recv()
        assert ours.closed
    assert not marker.exists()
    assert "refused message" in caplog.text and "os" in caplog.text


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


def test_allow_admits_a_named_class() -> None:
    std, ours = pair(allow=[Point])
    with std, ours:
        std.send(Point(3))
        assert ours.recv().x == 3


def test_trusted_loads_anything(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    std, ours = pair(trusted=True)
    with std, ours:
        std.send(Boom(marker))
        assert ours.recv() == 0
    assert marker.exists()


# -- a server and hostile peers -------------------------------------------------


class EchoServer:
    """serve_forever in a thread; echoes every message, records per client."""

    def __init__(self, **options: object) -> None:
        self.listener = bc.Listener(LOOPBACK, backlog=16, **options)  # type: ignore[arg-type]
        self.received: list[object] = []
        self.thread = threading.Thread(
            target=self.listener.serve_forever,
            args=(self.handle,),
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self.thread.start()

    def handle(self, conn: bc.Connection) -> None:
        while True:
            msg = conn.recv()
            self.received.append(msg)
            conn.send(("echo", msg))

    def close(self) -> None:
        self.listener.shutdown(timeout=5)
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = EchoServer(authkey=KEY, timeout=0.5, max_message_size=1 << 20)
    yield srv
    srv.close()


def _hostile_oversized(address: tuple[str, int]) -> None:
    with raw_client(address) as s:
        s.sendall(struct.pack("!i", -1) + struct.pack("!Q", 1 << 40))
        drain(s)  # the server hangs up without waiting for the body


def _hostile_garbage(address: tuple[str, int]) -> None:
    with raw_client(address) as s:
        s.sendall(os.urandom(4096))
        drain(s)


def _hostile_slow_loris(address: tuple[str, int]) -> None:
    with raw_client(address) as s:
        s.sendall(b"\0\0")  # half a length prefix, then nothing
        drain(s)


def _hostile_wrong_key(address: tuple[str, int]) -> None:
    with pytest.raises(mpc.AuthenticationError):
        mpc.Client(address, authkey=b"wrong")


def _authed(address: tuple[str, int]) -> mpc.Connection:
    return mpc.Client(address, authkey=KEY)


def _hostile_pickle(address: tuple[str, int]) -> None:
    with _authed(address) as c:
        c.send(Boom(Path("/nonexistent/brined-should-not-run")))
        with pytest.raises((EOFError, OSError)):
            c.recv()


def _hostile_half_message(address: tuple[str, int]) -> None:
    c = _authed(address)
    # The length says 1000, 10 bytes follow, then the peer disappears.
    os.write(c.fileno(), struct.pack("!i", 1000) + b"0123456789")
    c.close()


def _hostile_oversized_after_auth(address: tuple[str, int]) -> None:
    with _authed(address) as c:
        os.write(c.fileno(), struct.pack("!i", (1 << 20) + 1))
        with pytest.raises((EOFError, OSError)):
            c.recv_bytes()


HOSTILE = {
    "oversized length prefix": (_hostile_oversized, "the limit is 256"),
    "garbage": (_hostile_garbage, "closing connection"),
    "slow-loris": (_hostile_slow_loris, "not complete within 0.5 s"),
    "wrong authkey": (_hostile_wrong_key, "digest received was wrong"),
    "malicious pickle": (_hostile_pickle, "refused message"),
    "disconnect mid-message": (_hostile_half_message, "middle of a message"),
    "oversized after auth": (_hostile_oversized_after_auth, "the limit is 1048576"),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_peer_is_closed_with_a_logged_reason(kind, server, caplog) -> None:  # type: ignore[no-untyped-def]
    attack, reason = HOSTILE[kind]
    with caplog.at_level(logging.WARNING, "brined.connection"):
        attack(server.listener.address)
        deadline = time.monotonic() + 10
        while reason not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert reason in caplog.text
    # ... and the server still serves an honest client.
    with _authed(server.listener.address) as good:
        good.send("still here")
        assert good.recv() == ("echo", "still here")


def test_honest_client_loses_nothing_while_hostile_ones_come_and_go(server) -> None:  # type: ignore[no-untyped-def]
    address = server.listener.address
    good = _authed(address)
    attackers = [
        threading.Thread(target=attack, args=(address,))
        for attack, _ in HOSTILE.values()
    ]
    for t in attackers:
        t.start()
    replies = []
    for i in range(200):
        good.send({"seq": i, "data": "x" * (i % 50)})
        replies.append(good.recv())
    for t in attackers:
        t.join(20)
    good.close()
    assert replies == [("echo", {"seq": i, "data": "x" * (i % 50)}) for i in range(200)]


def test_shutdown_ends_the_threads_of_idle_clients() -> None:
    srv = EchoServer(authkey=KEY)
    idle = _authed(srv.listener.address)
    idle.send("hello")
    assert idle.recv() == ("echo", "hello")
    srv.close()
    assert not srv.listener._threads
    with pytest.raises((EOFError, OSError)):
        idle.recv()
    idle.close()


def test_oversized_prefix_is_refused_before_the_body(caplog) -> None:  # type: ignore[no-untyped-def]
    # No timeout: if the body were awaited this test would hang, not pass.
    with bc.Listener(LOOPBACK, timeout=None, max_message_size=1000) as listener:
        client = raw_client(listener.address)
        conn = listener.accept()
        client.sendall(struct.pack("!i", 1001))
        with pytest.raises(bc.MessageTooLargeError) as info:
            conn.recv()
        assert (info.value.size, info.value.limit) == (1001, 1000)
        assert conn.closed
        client.close()


def test_slow_message_times_out() -> None:
    with bc.Listener(LOOPBACK, timeout=0.2) as listener:
        client = raw_client(listener.address)
        conn = listener.accept()
        client.sendall(struct.pack("!i", 50) + b"partial")
        with pytest.raises(bc.WireTimeoutError):
            conn.recv()
        assert conn.closed
        client.close()


def test_idle_timeout_closes_a_silent_peer() -> None:
    with bc.Listener(LOOPBACK, idle_timeout=0.2) as listener:
        client = raw_client(listener.address)
        conn = listener.accept()
        with pytest.raises(bc.WireTimeoutError):
            conn.recv()
        client.close()


def test_brined_client_refuses_a_wrong_key_at_a_stdlib_listener() -> None:
    with mpc.Listener(LOOPBACK, authkey=KEY) as listener:
        errors: list[BaseException] = []

        def accept() -> None:
            try:
                listener.accept()
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=accept)
        t.start()
        with pytest.raises(bc.AuthenticationError):
            bc.Client(listener.address, authkey=b"wrong", timeout=10)
        t.join(10)
    assert isinstance(errors[0], mpc.AuthenticationError)


def test_unix_socket_family() -> None:
    with bc.Listener(authkey=KEY) as listener:
        assert isinstance(listener.address, str)
        t = threading.Thread(target=lambda: listener.accept().send("hi"))
        t.start()
        with mpc.Client(listener.address, authkey=KEY) as c:
            assert c.recv() == "hi"
        t.join(10)
    assert not os.path.exists(listener.address)
    assert not os.path.exists(os.path.dirname(listener.address))


def test_listener_allow_reaches_its_connections() -> None:
    with bc.Listener(LOOPBACK, allow=[Point]) as listener:
        client = mpc.Client(listener.address)
        with listener.accept() as conn, client:
            client.send(Point(7))
            assert conn.recv().x == 7
            client.send(Boom(Path("/nonexistent/brined-should-not-run")))
            with pytest.raises(brined.UnsafeGlobalError):
                conn.recv()


def test_client_checks_the_authkey_type_before_connecting() -> None:
    with pytest.raises(TypeError):
        bc.Client(("127.0.0.1", 9), authkey="not bytes")  # type: ignore[arg-type]


# -- real processes, other interpreters ---------------------------------------

CHILD_CLIENT = """
import sys
from multiprocessing.connection import Client
c = Client(("127.0.0.1", int(sys.argv[1])), authkey=b"secret key")
c.send({"from": list(sys.version_info[:2]), "items": [1, 2.5, "x", b"y"]})
print(repr(c.recv()))
"""

CHILD_LISTENER = """
from multiprocessing.connection import Listener
with Listener(("127.0.0.1", 0), authkey=b"secret key") as listener:
    print(listener.address[1], flush=True)
    with listener.accept() as c:
        c.send(("back", c.recv()))
"""


@pytest.mark.parametrize("python", [sys.executable, *OTHER_PYTHONS], ids=_version)
def test_stdlib_client_in_a_child_talks_to_a_brined_listener(python: str) -> None:
    with bc.Listener(LOOPBACK, authkey=KEY) as listener:
        child = subprocess.Popen(
            [python, "-c", CHILD_CLIENT, str(listener.address[1])],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            with listener.accept() as conn:
                msg = conn.recv()
                conn.send(("ok", msg))
            out, _ = child.communicate(timeout=30)
        finally:
            child.kill()
    assert msg["items"] == [1, 2.5, "x", b"y"]
    assert out.strip() == repr(("ok", msg))


@pytest.mark.parametrize("python", [sys.executable, *OTHER_PYTHONS], ids=_version)
def test_brined_client_talks_to_a_stdlib_listener_in_a_child(python: str) -> None:
    child = subprocess.Popen(
        [python, "-c", CHILD_LISTENER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        with bc.Client(("127.0.0.1", port), authkey=KEY, timeout=30) as conn:
            conn.send(["ping", 1])
            assert conn.recv() == ("back", ["ping", 1])
        child.wait(30)
    finally:
        child.kill()
    assert child.returncode == 0


KILLED_CHILD = """
import socket, struct, sys, time
from multiprocessing.connection import answer_challenge, deliver_challenge, Connection
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c = Connection(s.detach())
answer_challenge(c, b"secret key")
deliver_challenge(c, b"secret key")
import os
os.write(c.fileno(), struct.pack("!i", 100000) + b"x" * 1000)
print("sent", flush=True)
time.sleep(60)
"""


def test_peer_killed_mid_message_is_logged_and_others_carry_on(caplog) -> None:  # type: ignore[no-untyped-def]
    # A long message timeout: the connection must end because the peer died.
    server = EchoServer(authkey=KEY, timeout=60)
    good = _authed(server.listener.address)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(server.listener.address[1])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        with caplog.at_level(logging.WARNING, "brined.connection"):
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "sent"
            good.send("before")
            assert good.recv() == ("echo", "before")
            child.kill()  # SIGKILL in the middle of its message
            child.wait(10)
            deadline = time.monotonic() + 10
            while "middle of a message" not in caplog.text:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        good.send("after")
        assert good.recv() == ("echo", "after")
    finally:
        child.kill()
        good.close()
        server.close()
    assert server.received == ["before", "after"]


# -- TLS ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory):  # type: ignore[no-untyped-def]
    x509 = pytest.importorskip("cryptography.x509", reason="needs cryptography")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(d / "cert.pem", d / "key.pem")
    client = ssl.create_default_context(cafile=str(d / "cert.pem"))
    return server, client


def test_tls_round_trip_with_authkey(tls) -> None:  # type: ignore[no-untyped-def]
    server_ctx, client_ctx = tls
    srv = EchoServer(authkey=KEY, ssl_context=server_ctx, timeout=5)
    try:
        with bc.Client(
            srv.listener.address,
            authkey=KEY,
            ssl_context=client_ctx,
            server_hostname="localhost",
            timeout=10,
        ) as conn:
            assert isinstance(conn._sock, ssl.SSLSocket)
            big = b"z" * 200_000
            conn.send(big)
            assert conn.recv() == ("echo", big)
            assert srv.received == [big]
    finally:
        srv.close()


def test_plain_client_at_a_tls_listener_is_refused(tls, caplog) -> None:  # type: ignore[no-untyped-def]
    server_ctx, client_ctx = tls
    srv = EchoServer(authkey=KEY, ssl_context=server_ctx, timeout=0.5)
    try:
        with caplog.at_level(logging.WARNING, "brined.connection"):
            with pytest.raises((mpc.AuthenticationError, OSError, EOFError)):
                mpc.Client(srv.listener.address, authkey=KEY)
            deadline = time.monotonic() + 10
            while "TLS handshake failed" not in caplog.text:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        with bc.Client(
            srv.listener.address,
            authkey=KEY,
            ssl_context=client_ctx,
            server_hostname="localhost",
            timeout=10,
        ) as conn:
            conn.send(1)
            assert conn.recv() == ("echo", 1)
    finally:
        srv.close()


def test_tls_client_refuses_an_unknown_certificate(tls) -> None:  # type: ignore[no-untyped-def]
    server_ctx, _ = tls
    srv = EchoServer(ssl_context=server_ctx, timeout=2)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            bc.Client(
                srv.listener.address,
                ssl_context=ssl.create_default_context(),
                server_hostname="localhost",
            )
    finally:
        srv.close()
