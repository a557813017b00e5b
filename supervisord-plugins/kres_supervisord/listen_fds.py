"""Listening sockets owned by supervisord and shared by every kresd.

Configuration::

    [rpcinterface:listen_fds]
    supervisor.rpcinterface_factory = kres_supervisord.listen_fds:inject

    [program:kresd]
    process_name = %(program_name)s%(process_num)d
    numprocs = 4
    command = /usr/sbin/kresd -n -c /run/knot-resolver/kresd%(process_num)d.lua /run/knot-resolver
    environment = KRES_LISTEN_SPEC="/run/knot-resolver/kresd%(process_num)d.listen"

A program opts in with ``KRES_LISTEN_SPEC=<path>`` in its ``environment=``.
At every spawn of such a process the plugin reads that file, a JSON list of
endpoints::

    [{"addr": "127.0.0.1", "port": 53, "proto": "udp"},
     {"addr": "127.0.0.1", "port": 53, "proto": "tcp"},
     {"addr": "::1", "port": 853, "proto": "tcp", "kind": "tls", "freebind": false}]

``addr`` is an IPv4 or IPv6 literal (an IPv6 ``%scope`` is allowed), ``port``
1-65535, ``proto`` ``udp`` or ``tcp``; optional ``kind`` (``dns``, the
default, ``tls`` or ``doh2``; ``tls`` and ``doh2`` need ``tcp``) and
``freebind`` (default false). Other fields and an endpoint listed twice are
errors. A missing file or ``[]`` means no sockets (argv unchanged).

supervisord keeps one bound socket per endpoint key ``(addr, port, proto,
freebind)`` (``kind`` does not change the socket), created the first time a
spec names it: IPv6 sockets are ``IPV6_V6ONLY``, TCP ones ``SO_REUSEADDR`` and
listening, ``freebind`` sets ``IP_FREEBIND`` / ``IPV6_FREEBIND``, and
``SO_REUSEPORT`` is never set, so another process binding the same address
fails instead of taking part of the traffic. Every process whose spec names an
endpoint gets that very socket, so the queue of a stopping kresd is not lost:
it belongs to the shared socket, which the other workers keep reading.

The process receives the sockets as fds 3, 4, ... in spec order, and its argv
gets ``-S 3 -S 4:tls ...`` appended (kresd 5.6 syntax; ``:dns`` is omitted,
kresd 5.6 knows no such kind). When a socket cannot be bound or the spec is
unreadable or malformed, the spawn fails (BACKOFF, retried like any failed
start) and ``spawnerr`` (``supervisor.getProcessInfo``) says why, e.g.
``cannot listen on 127.0.0.1@53 (udp): Address already in use`` or
``bad listen spec /run/.../kresd3.listen: [1].port: must be an integer from 1
to 65535, not 0``.

XML-RPC:

- ``listen_fds.prune()`` reads the spec of every process (of every group) that
  has ``KRES_LISTEN_SPEC`` now and closes each held socket none of them names
  any more; returns the closed keys, e.g. ``["127.0.0.1@5353/udp"]`` (a
  freebind socket ends in ``/freebind``). Processes already running keep their
  own copies of a closed socket. A spec that cannot be read or parsed makes
  it a ``FAILED`` fault and nothing is closed; a missing file names nothing.
- ``listen_fds.list()`` returns the held sockets,
  ``[{"addr", "port", "proto", "freebind", "fd"}]`` (``fd`` in supervisord).

Hooks (supervisor 4.2.x): ``Subprocess.get_execv_args`` (called in supervisord
before the fork) is wrapped: during ``spawn()`` (which is wrapped to mark it;
the "can it be executed" pre-check of ``startProcess`` does not bind anything)
it reads the spec, binds what is missing, records the ``(held fd, target fd)``
pairs on the process object and extends argv, raising
``supervisor.options.ProcessException`` on failure. ``_prepare_child_fds``
(in the child, between fork and exec) is wrapped: after the stock one closed
fds 3..minfds-1, each held fd is ``dup2``-ed to its target (dup2 clears
close-on-exec; the held fds themselves are close-on-exec and vanish at exec).
Held fds are therefore kept at numbers >= ``minfds`` (``F_DUPFD_CLOEXEC``),
and the soft ``RLIMIT_NOFILE`` is raised when needed (never above the hard
limit; children inherit it). A spec may name at most ``minfds - 3`` endpoints.

The held sockets live in the supervisord process and survive a reload
(SIGHUP): ``cleanup_fds`` only closes fds below ``minfds``. Should a held fd
have been closed behind the plugin's back (a reload that raised ``minfds``),
it is forgotten (never closed twice) and bound anew on next use.

kresd 5.6 notes: it calls ``listen()`` again on a TCP fd with its own
``net.tcp_backlog`` (128 by default), which then stays the socket's backlog;
libuv sets ``SO_REUSEADDR`` on a UDP fd it is given, so once a kresd took a
UDP socket, another UDP socket that also sets ``SO_REUSEADDR`` can bind the
same address. ``-S N:doh2`` is rejected by kresd 5.6 at startup ("network
socket kind 'doh2' not handled"): only plain DNS and ``tls`` work via ``-S``.
"""

import errno
import fcntl
import ipaddress
import json
import os
import resource
import socket
from collections import namedtuple

from supervisor.options import ProcessException
from supervisor.process import Subprocess
from supervisor.xmlrpc import Faults, RPCError

from ._common import fd_identity, patch_methods, process_name

SPEC_ENV = "KRES_LISTEN_SPEC"
PROTOS = ("udp", "tcp")
KINDS = ("dns", "tls", "doh2")
FIELDS = ("addr", "port", "proto", "kind", "freebind")
FIRST_TARGET_FD = 3
TCP_BACKLOG = socket.SOMAXCONN  # the kernel caps it at net.core.somaxconn
MAX_SPEC_BYTES = 1024 * 1024
# extra headroom when the soft RLIMIT_NOFILE has to grow to hold fds >= minfds
RLIMIT_HEADROOM = 64

IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
IPV6_FREEBIND = getattr(socket, "IPV6_FREEBIND", 78)

_FDS_ATTR = "_kres_listen_fds"  # on a Subprocess: ((held fd, target fd), ...)
_SPAWNING_ATTR = "_kres_listen_spawning"  # on a Subprocess: inside spawn()


class SpecError(ValueError):
    """The listen spec cannot be read or is malformed (message is user-facing)."""


class ListenError(OSError):
    """A socket could not be set up (message is user-facing)."""


class Endpoint(namedtuple("Endpoint", "addr port proto kind freebind")):
    __slots__ = ()

    @property
    def key(self):
        return (self.addr, self.port, self.proto, self.freebind)


def key_name(key):
    """'127.0.0.1@53/udp' ('.../freebind' for a freebind socket)."""
    addr, port, proto, freebind = key
    return "%s@%d/%s%s" % (addr, port, proto, "/freebind" if freebind else "")


def listen_error_message(key, reason):
    addr, port, proto, _freebind = key
    return "cannot listen on %s@%d (%s): %s" % (addr, port, proto, reason)


# ---------------------------------------------------------------------------
# the spec file


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_endpoint(index, entry):
    where = "[%d]" % index
    if not isinstance(entry, dict):
        raise SpecError("%s: must be an object, not %s" % (where, json.dumps(entry)))
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise SpecError("%s: unknown field %s" % (where, ", ".join(json.dumps(name) for name in unknown)))
    for name in ("addr", "port", "proto"):
        if name not in entry:
            raise SpecError("%s: missing %s" % (where, json.dumps(name)))

    addr = entry["addr"]
    if not isinstance(addr, str):
        raise SpecError("%s.addr: must be an IP address string, not %s" % (where, json.dumps(addr)))
    try:
        addr = str(ipaddress.ip_address(addr))
    except ValueError:
        raise SpecError("%s.addr: not an IPv4 or IPv6 address: %s" % (where, json.dumps(addr))) from None

    port = entry["port"]
    if not _is_int(port) or not 1 <= port <= 65535:
        raise SpecError("%s.port: must be an integer from 1 to 65535, not %s" % (where, json.dumps(port)))

    proto = entry["proto"]
    if proto not in PROTOS:
        raise SpecError("%s.proto: must be \"udp\" or \"tcp\", not %s" % (where, json.dumps(proto)))

    kind = entry.get("kind", "dns")
    if kind not in KINDS:
        choices = ", ".join(map(json.dumps, KINDS))
        raise SpecError("%s.kind: must be one of %s, not %s" % (where, choices, json.dumps(kind)))
    if kind != "dns" and proto != "tcp":
        raise SpecError("%s.kind: %s needs \"proto\": \"tcp\"" % (where, json.dumps(kind)))

    freebind = entry.get("freebind", False)
    if not isinstance(freebind, bool):
        raise SpecError("%s.freebind: must be true or false, not %s" % (where, json.dumps(freebind)))
    return Endpoint(addr, port, proto, kind, freebind)


def parse_spec(text):
    """Endpoints of a spec (JSON text or bytes); raises SpecError (without the path)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SpecError("not valid JSON: %s" % exc) from None
    if not isinstance(data, list):
        raise SpecError("must be a JSON list of endpoints")
    endpoints = []
    seen = {}
    for index, entry in enumerate(data):
        endpoint = _parse_endpoint(index, entry)
        if endpoint.key in seen:
            raise SpecError("[%d]: %s is already listed as [%d]" % (index, key_name(endpoint.key), seen[endpoint.key]))
        seen[endpoint.key] = index
        endpoints.append(endpoint)
    return endpoints


def read_spec(path):
    """Endpoints listed in the spec file; [] when it does not exist. Raises SpecError."""
    try:
        with open(path, "rb") as spec:
            text = spec.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SpecError("cannot read listen spec %s: %s" % (path, exc.strerror or exc)) from None
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError("bad listen spec %s: larger than %d bytes" % (path, MAX_SPEC_BYTES))
    try:
        return parse_spec(text)
    except SpecError as exc:
        raise SpecError("bad listen spec %s: %s" % (path, exc)) from None


def spec_path(process):
    """The KRES_LISTEN_SPEC of the process's program, or None when it has none."""
    environment = getattr(process.config, "environment", None)
    if not environment:
        return None
    return environment.get(SPEC_ENV) or None


def fd_args(endpoints, first_fd=FIRST_TARGET_FD):
    """kresd arguments for endpoints received as fds first_fd, first_fd+1, ..."""
    args = []
    for offset, endpoint in enumerate(endpoints):
        fd = first_fd + offset
        args += ["-S", str(fd) if endpoint.kind == "dns" else "%d:%s" % (fd, endpoint.kind)]
    return args


# ---------------------------------------------------------------------------
# held sockets


class HeldSocket:
    """One bound socket supervisord keeps, at an fd >= minfds, close-on-exec."""

    __slots__ = ("key", "sock", "identity")

    def __init__(self, key, sock):
        self.key = key
        self.sock = sock
        self.identity = fd_identity(sock.fileno())

    @property
    def fd(self):
        return self.sock.fileno()

    def still_ours(self):
        """False once the fd was closed (or closed and reused) behind our back."""
        fd = self.sock.fileno()
        return fd >= 0 and self.identity is not None and fd_identity(fd) == self.identity

    def abandon(self):
        """Forget an fd somebody else closed already (it may belong to another file now)."""
        self.sock.detach()

    def close(self):
        self.sock.close()

    def describe(self):
        addr, port, proto, freebind = self.key
        return {"addr": addr, "port": port, "proto": proto, "freebind": freebind, "fd": self.fd}


def _set_freebind(sock, family):
    if family == socket.AF_INET6:
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
            return
        except OSError as exc:  # kernels before 4.15 know only IP_FREEBIND (which covers IPv6 too)
            if exc.errno not in (errno.ENOPROTOOPT, errno.EINVAL):
                raise
    sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)


def _ensure_nofile(minimum):
    """Make the soft RLIMIT_NOFILE at least ``minimum`` (plus some headroom when the hard limit allows)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= minimum:
        return
    wanted = minimum + RLIMIT_HEADROOM
    if hard != resource.RLIM_INFINITY:
        if hard < minimum:
            raise ListenError(
                errno.EMFILE,
                "the hard RLIMIT_NOFILE (%d) leaves no room for fds at and above minfds; %d needed" % (hard, minimum),
            )
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _move_above(sock, minfds, held_count):
    """The socket re-created at an fd >= minfds (close-on-exec); ``sock`` is closed."""
    _ensure_nofile(minfds + held_count + 1)
    high = fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, minfds)
    try:
        moved = socket.socket(fileno=high)
    except BaseException:
        os.close(high)
        raise
    sock.close()
    return moved


def open_socket(key, minfds, held_count=0):
    """A HeldSocket bound (and for TCP listening) at ``key``; raises ListenError."""
    addr, port, proto, freebind = key
    family = socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    try:
        sockaddr = socket.getaddrinfo(
            addr, port, family, kind, 0, socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        )[0][4]
    except socket.gaierror as exc:
        raise ListenError(errno.EINVAL, listen_error_message(key, exc.strerror or exc)) from None
    sock = socket.socket(family, kind)  # close-on-exec, as every Python socket
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if freebind:
            _set_freebind(sock, family)
        sock.bind(sockaddr)
        if kind == socket.SOCK_STREAM:
            sock.listen(TCP_BACKLOG)
        sock = _move_above(sock, minfds, held_count)
    except OSError as exc:
        sock.close()
        raise ListenError(exc.errno, listen_error_message(key, exc.strerror or exc)) from None
    return HeldSocket(key, sock)


class _State:
    supervisord = None

    def __init__(self):
        self.held = {}  # endpoint key -> HeldSocket, in creation order


_state = _State()


def _log(options, level, message):
    logger = getattr(options, "logger", None)
    if logger is not None:
        getattr(logger, level)("listen_fds: " + message)


def _usable(held, minfds, options):
    """The held socket if it can still be handed out (moved above minfds if needed)."""
    if not held.still_ours():
        _log(options, "warn", "%s (fd %d) was closed behind our back, binding it again" % (key_name(held.key), held.fd))
        held.abandon()
        return None
    if held.fd < minfds:  # minfds grew: the child would close it before dup2
        try:
            held.sock = _move_above(held.sock, minfds, len(_state.held))
        except OSError as exc:
            raise ListenError(exc.errno, listen_error_message(held.key, exc.strerror or exc)) from None
        held.identity = fd_identity(held.fd)
    return held


def held_socket(key, options):
    """The held socket for ``key``, bound now if it is not held yet; raises ListenError."""
    minfds = options.minfds
    held = _state.held.get(key)
    if held is not None:
        held = _usable(held, minfds, options)
        if held is not None:
            return held
        del _state.held[key]
    held = open_socket(key, minfds, len(_state.held))
    _state.held[key] = held
    _log(options, "info", "listening on %s (fd %d)" % (key_name(key), held.fd))
    return held


def assign_fds(endpoints, options):
    """((held fd, target fd), ...) for the endpoints, binding what is missing.

    Raises ListenError or SpecError; sockets bound by this very call are closed
    again when a later endpoint fails.
    """
    if FIRST_TARGET_FD + len(endpoints) > options.minfds:
        raise SpecError(
            "%d endpoints do not fit below minfds (%d), raise minfds in [supervisord]"
            % (len(endpoints), options.minfds)
        )
    created = []
    pairs = []
    try:
        for offset, endpoint in enumerate(endpoints):
            before = _state.held.get(endpoint.key)
            held = held_socket(endpoint.key, options)
            if held is not before:
                created.append(held)
            pairs.append((held.fd, FIRST_TARGET_FD + offset))
    except BaseException:
        for held in created:
            if _state.held.get(held.key) is held:
                del _state.held[held.key]
            held.close()
        raise
    return tuple(pairs)


def prune_held(referenced, options=None):
    """Close held sockets whose key is not in ``referenced``; their key names."""
    closed = []
    for key, held in list(_state.held.items()):
        if key in referenced and held.still_ours():
            continue
        del _state.held[key]
        if held.still_ours():
            held.close()
            closed.append(key_name(key))
            _log(options, "info", "closed %s (no listen spec names it)" % key_name(key))
        else:
            held.abandon()
    return closed


# ---------------------------------------------------------------------------
# Subprocess hooks (installed once per interpreter)

_originals = {}


def _spawn(self):
    # replaces Subprocess.spawn(): marks the get_execv_args() call that precedes the fork
    setattr(self, _SPAWNING_ATTR, True)
    try:
        return _originals["spawn"](self)
    finally:  # the child never gets here (it execs or _exits)
        setattr(self, _SPAWNING_ATTR, False)


def _get_execv_args(self):
    filename, argv = _originals["get_execv_args"](self)
    if not getattr(self, _SPAWNING_ATTR, False):
        # startProcess's "can it be executed" pre-check (or any other caller):
        # nothing is bound, nothing recorded
        return filename, argv
    setattr(self, _FDS_ATTR, ())
    path = spec_path(self)
    if path is None:
        return filename, argv
    options = self.config.options
    try:
        endpoints = read_spec(path)
        if not endpoints:
            return filename, argv
        try:
            pairs = assign_fds(endpoints, options)
        except SpecError as exc:
            raise SpecError("listen spec %s: %s" % (path, exc)) from None
    except ListenError as exc:
        raise ProcessException(exc.strerror) from None
    except SpecError as exc:
        raise ProcessException(str(exc)) from None
    except Exception as exc:  # anything else would end supervisord's main loop
        message = "listen_fds: cannot prepare the sockets of %s: %r" % (process_name(self), exc)
        raise ProcessException(message) from None
    setattr(self, _FDS_ATTR, pairs)
    return filename, list(argv) + fd_args(endpoints)


def _prepare_child_fds(self):
    # Runs in the forked child between fork and exec: only dup2 here.
    _originals["_prepare_child_fds"](self)
    pairs = getattr(self, _FDS_ATTR, ())
    if pairs:
        options = self.config.options
        for held, target in pairs:
            try:
                options.dup2(held, target)  # the copy at target is not close-on-exec
            except OSError as exc:
                options.write(2, "supervisor: cannot pass listening socket fd %d as %d: %s\n" % (held, target, exc))
                raise  # _spawn_as_child then exits 127


def _patch_subprocess():
    patch_methods(
        Subprocess,
        {"spawn": _spawn, "get_execv_args": _get_execv_args, "_prepare_child_fds": _prepare_child_fds},
        _originals,
    )


# ---------------------------------------------------------------------------
# XML-RPC


def _opted_in_processes(supervisord):
    for group in list(supervisord.process_groups.values()):
        for process in list(group.processes.values()):
            path = spec_path(process)
            if path is not None:
                yield process, path


class ListenFdsRPCInterface:
    """XML-RPC namespace of the listen_fds plugin."""

    def __init__(self, supervisord):
        self.supervisord = supervisord

    def prune(self):
        """Close the held sockets no listen spec names any more

        Reads the KRES_LISTEN_SPEC file of every process that has one;
        processes already running keep their own copies of closed sockets.

        @return array closed    keys of the closed sockets, e.g. "127.0.0.1@53/udp"
        """
        referenced = set()
        for _process, path in _opted_in_processes(self.supervisord):
            try:
                referenced.update(endpoint.key for endpoint in read_spec(path))
            except SpecError as exc:
                raise RPCError(Faults.FAILED, "%s; nothing was closed" % exc) from None
        return prune_held(referenced, self.supervisord.options)

    def list(self):
        """The sockets supervisord holds for KRES_LISTEN_SPEC programs

        @return array sockets   [{"addr", "port", "proto", "freebind", "fd"}]
        """
        return [held.describe() for held in _state.held.values() if held.still_ours()]


def _drop_lost_sockets(options):
    # after a reload: fds that cleanup_fds closed (minfds grew) are not ours any more
    for key, held in list(_state.held.items()):
        if not held.still_ours():
            _log(options, "warn", "%s (fd %d) was closed behind our back" % (key_name(key), held.fd))
            held.abandon()
            del _state.held[key]


def inject(supervisord, **_config):
    """rpcinterface factory: installs the hooks, returns the XML-RPC namespace."""
    _patch_subprocess()
    _state.supervisord = supervisord
    if supervisord is not None:
        _drop_lost_sockets(supervisord.options)
    return ListenFdsRPCInterface(supervisord)
