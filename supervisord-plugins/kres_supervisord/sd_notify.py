"""sd_notify(3) readiness protocol for supervisord programs, in pure Python.

Configuration::

    [rpcinterface:sd_notify]
    supervisor.rpcinterface_factory = kres_supervisord.sd_notify:inject
    ; optional: where to listen ("@name" = abstract socket, or a path: created
    ; mode 0600); default "@kres-supervisord-notify-<supervisord pid>-<random>"
    ;socket = /run/knot-resolver/notify.sock

    [program:kresd]
    environment=X-SUPERVISORD-TYPE=notify
    startsecs=60   ; how long to wait for READY=1 (0 = wait forever)

How it hooks into supervisord (4.2.x internals):

- One datagram socket with SO_PASSCRED is bound when the factory runs. It is
  served by supervisord's own poll loop: ``Supervisor.get_process_map`` of
  the running instance is wrapped so that the map it returns also holds a
  dispatcher for that socket. The kernel attaches SCM_CREDENTIALS to every
  datagram, so the sender PID is known without trusting the payload; it is
  mapped to the supervised process with that PID (or, for wrappers that keep
  the daemon as a child, its nearest supervised ancestor).
- ``Subprocess._spawn_as_child`` (runs in the forked child, right before
  exec) gives notify programs ``NOTIFY_SOCKET`` and strips an inherited one
  from all other programs.
- ``Subprocess.transition`` keeps notify programs in STARTING (supervisord
  would otherwise declare them RUNNING after ``startsecs``); ``READY=1`` is
  what moves them to RUNNING. Without it within ``startsecs`` the process is
  killed with SIGKILL (its process group with ``killasgroup``/``stopasgroup``).
- ``Subprocess.finish`` treats any death of a notify program still in
  STARTING as a failed start: STARTING -> BACKOFF, so supervisord retries up
  to ``startretries`` times and then gives up with FATAL, as it does for
  programs that exit before ``startsecs``. A notify program that dies once
  RUNNING is an ordinary RUNNING -> EXITED, even if younger than
  ``startsecs``.
- ``Subprocess._check_and_adjust_for_system_clock_rollback`` would take a
  RUNNING process younger than ``startsecs`` for a clock rollback and shift
  its start time; for notify programs only a real rollback is corrected, so
  the uptime shown by ``supervisorctl status`` is right.

The factory also returns an XML-RPC namespace (named after the section,
``sd_notify`` above) with ``notify(pid, message)``: the same message delivered
over XML-RPC, for a supervised program that cannot send unix datagrams itself
(node has no unix datagram sockets); and ``getSocket()``.
"""

import atexit
import errno
import os
import secrets
import signal
import socket
import stat
import struct
import time

from supervisor import events
from supervisor.medusa.asyncore_25 import compact_traceback
from supervisor.options import decode_wait_status
from supervisor.process import Subprocess
from supervisor.states import ProcessStates, getProcessStateDescription
from supervisor.xmlrpc import Faults, RPCError

from ._common import fd_identity, is_notify_type, patch_methods, process_by_pid, process_name, supervised_ancestor

MAX_DATAGRAM = 4096
MAX_PASSED_FDS = 64
MAX_DATAGRAMS_PER_WAKEUP = 128
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid
_ANCILLARY_SIZE = socket.CMSG_SPACE(_CREDENTIALS.size) + socket.CMSG_SPACE(MAX_PASSED_FDS * 4)


# ---------------------------------------------------------------------------
# protocol


def parse_notify_message(data):
    """Split an sd_notify payload (newline-separated KEY=VALUE) into a dict."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    fields = {}
    for line in data.split(b"\n"):
        key, sep, value = line.partition(b"=")
        if not sep or not key:
            continue
        fields[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return fields


def socket_address(name):
    """NOTIFY_SOCKET notation ("@abstract" or a path) -> bind/sendto address."""
    if name.startswith("@"):
        return "\0" + name[1:]
    return name


def receive_datagram(sock):
    """Read one datagram: (sender pid or 0, payload), or None if none is queued.

    File descriptors passed along (FDSTORE=1 and the like) are closed: this
    supervisor does not keep them.
    """
    try:
        data, ancillary, _flags, _address = sock.recvmsg(MAX_DATAGRAM, _ANCILLARY_SIZE)
    except (BlockingIOError, InterruptedError):
        return None
    pid = 0
    for level, kind, payload in ancillary:
        if level != socket.SOL_SOCKET:
            continue
        if kind == socket.SCM_CREDENTIALS and len(payload) >= _CREDENTIALS.size:
            pid = _CREDENTIALS.unpack_from(payload)[0]
        elif kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            for fd in struct.unpack("%di" % (usable // 4), payload[:usable]):
                try:
                    os.close(fd)
                except OSError:
                    pass
    return pid, data


class NotifySocket:
    """The datagram socket children write to; an asyncore-style dispatcher
    for supervisord's loop (readable / writable / handle_*_event)."""

    closed = False

    def __init__(self, name, on_message, logger):
        self.name = name  # as advertised in $NOTIFY_SOCKET
        self.on_message = on_message
        self.logger = logger
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        try:
            if not name.startswith("@"):
                _remove_stale_socket(name)
            self.sock.bind(socket_address(name))
            if not name.startswith("@"):
                # Only supervisord's own user may send READY=1 for its programs: an abstract socket
                # has no permissions, a file socket 0600 has.
                os.chmod(name, 0o600)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        except BaseException:
            self.sock.close()
            raise
        self.fd = self.sock.fileno()
        self._identity = fd_identity(self.fd)

    def __repr__(self):
        return "<sd_notify socket %s fd=%d>" % (self.name, self.fd)

    def still_ours(self):
        """False once supervisord closed our fd behind our back (reload)."""
        return not self.closed and fd_identity(self.fd) == self._identity

    def abandon(self):
        """Forget an fd supervisord already closed (it may be reused by now)."""
        self.sock.detach()
        self.closed = True

    def close(self):
        if not self.closed:
            self.sock.close()
            self.closed = True
        if not self.name.startswith("@"):
            _remove_stale_socket(self.name)

    # dispatcher interface used by Supervisor.runforever()

    def readable(self):
        return not self.closed

    def writable(self):
        return False

    def handle_read_event(self):
        for _ in range(MAX_DATAGRAMS_PER_WAKEUP):
            received = receive_datagram(self.sock)
            if received is None:
                return
            self.on_message(*received)

    def handle_write_event(self):
        pass

    def handle_error(self):
        _nil, kind, value, where = compact_traceback()
        # one bad datagram must not end readiness tracking: keep the socket
        self.logger.error("sd_notify: error while handling a notification: %s: %s %s" % (kind, value, where))

    def flush(self):
        pass


def _remove_stale_socket(path):
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass


# ---------------------------------------------------------------------------
# state shared by the hooks (one supervisord per interpreter; replaced on reload)


class _State:
    supervisord = None
    listener = None
    token = secrets.token_hex(4)


_state = _State()

# marker on a Subprocess: PID we killed for not sending READY=1 in time
_TIMEOUT_ATTR = "_kres_ready_timeout_pid"


def _on_datagram(pid, data):
    supervisord = _state.supervisord
    if supervisord is None:
        return
    logger = supervisord.options.logger
    if pid <= 0:
        logger.warn("sd_notify: ignoring a notification without sender credentials: %r" % data[:200])
        return
    process = supervised_ancestor(supervisord, pid)
    if process is None:
        logger.debug("sd_notify: ignoring a notification from PID %d, not a supervised process: %r" % (pid, data[:200]))
        return
    apply_notification(process, parse_notify_message(data), pid)


def apply_notification(process, fields, sender_pid):
    """Act on a parsed notification from (or on behalf of) ``process``.

    Returns True when the process is a notify program (message accepted).
    """
    logger = process.config.options.logger
    name = process_name(process)
    if not is_notify_type(process):
        logger.warn(
            "sd_notify: ignoring %s from %s (PID %d), which is not marked X-SUPERVISORD-TYPE=notify"
            % (", ".join(sorted(fields)) or "an empty message", name, sender_pid)
        )
        return False
    if fields.get("READY") == "1":
        _mark_ready(process, sender_pid)
    if fields.get("STOPPING") == "1":
        logger.info("sd_notify: %s (PID %d) is stopping" % (name, process.pid))
    if fields.get("RELOADING") == "1":
        logger.info("sd_notify: %s (PID %d) is reloading" % (name, process.pid))
    if "STATUS" in fields:
        logger.debug("sd_notify: %s status: %s" % (name, fields["STATUS"]))
    if "ERRNO" in fields:
        logger.warn("sd_notify: %s reports errno %s" % (name, fields["ERRNO"]))
    return True


def _mark_ready(process, sender_pid):
    logger = process.config.options.logger
    name = process_name(process)
    if process.state == ProcessStates.STARTING and getattr(process, _TIMEOUT_ATTR, None) != process.pid:
        # what Subprocess.transition() does for STARTING -> RUNNING
        process.delay = 0
        process.backoff = 0
        process.change_state(ProcessStates.RUNNING)
        via = "" if sender_pid == process.pid else " (sent by its descendant PID %d)" % sender_pid
        logger.info(
            "success: %s entered RUNNING state, process sent READY=1%s %.3f s after spawn"
            % (name, via, time.time() - process.laststart)
        )
    elif process.state == ProcessStates.RUNNING:
        logger.debug("sd_notify: %s sent READY=1 again" % name)
    else:
        logger.warn(
            "sd_notify: ignoring READY=1 from %s in state %s"
            % (name, getProcessStateDescription(process.state))
        )


# ---------------------------------------------------------------------------
# Subprocess patches (installed once per interpreter)

_originals = {}


def _transition(self):
    if self.state != ProcessStates.STARTING or not is_notify_type(self):
        return _originals["transition"](self)
    # A notify program in STARTING: the stock transition would only promote it
    # to RUNNING after startsecs (the rest of it does nothing in STARTING).
    now = time.time()
    self._check_and_adjust_for_system_clock_rollback(now)
    startsecs = self.config.startsecs
    if startsecs > 0 and now - self.laststart > startsecs and getattr(self, _TIMEOUT_ATTR, None) != self.pid:
        _kill_unready(self, startsecs)


def _kill_unready(process, startsecs):
    options = process.config.options
    name = process_name(process)
    pid = process.pid
    as_group = process.config.killasgroup or process.config.stopasgroup
    options.logger.warn(
        "process '%s' (%d) sent no READY=1 within %s seconds (startsecs), killing %swith SIGKILL"
        % (name, pid, startsecs, "its process group " if as_group else "")
    )
    setattr(process, _TIMEOUT_ATTR, pid)
    try:
        options.kill(-pid if as_group else pid, signal.SIGKILL)
    except OSError as exc:
        if exc.errno != errno.ESRCH:  # already gone: reaping finishes the job
            options.logger.critical("could not kill %s (%d): %s" % (name, pid, exc))


def _clock_rollback_check(self, test_time):
    if self.state == ProcessStates.RUNNING and is_notify_type(self):
        # RUNNING came from READY=1, usually well before startsecs: the stock
        # check would take that for a clock rollback and move laststart back
        # by startsecs (wrong uptime). Only a real rollback is corrected.
        if test_time < self.laststart:
            self.laststart = test_time
        return None
    return _originals["_check_and_adjust_for_system_clock_rollback"](self, test_time)


def _finish(self, pid, sts):
    if not is_notify_type(self) or self.killing:
        return _originals["finish"](self, pid, sts)
    if self.state == ProcessStates.RUNNING:
        # Stock finish() decides "exited too quickly" from laststart and
        # startsecs, and asserts STARTING in that case; a notify program
        # RUNNING since READY=1 is past that stage whatever its age.
        real_start = self.laststart
        now = time.time()
        if now - real_start <= self.config.startsecs:
            self.laststart = now - self.config.startsecs - 1
        try:
            return _originals["finish"](self, pid, sts)
        finally:
            self.laststart = real_start
    if self.state != ProcessStates.STARTING:
        return _originals["finish"](self, pid, sts)
    # A notify program died before READY=1: a failed start, however long it
    # took (stock finish() would call a death after startsecs a RUNNING exit).
    # Mirrors the "exited too quickly" branch of Subprocess.finish().
    self.drain()
    _es, how = decode_wait_status(sts)
    timed_out = getattr(self, _TIMEOUT_ATTR, None) == pid
    self.laststop = time.time()
    self.exitstatus = None
    if timed_out:
        self.spawnerr = "no READY=1 within %s seconds (startsecs)" % self.config.startsecs
    else:
        self.spawnerr = "Exited before sending READY=1 (process log may have details)"
    self.change_state(ProcessStates.BACKOFF)
    self.config.options.logger.warn(
        "exited: %s (%s; not expected): %s" % (process_name(self), how, self.spawnerr)
    )
    setattr(self, _TIMEOUT_ATTR, None)
    self.pid = 0
    self.config.options.close_parent_pipes(self.pipes)
    self.pipes = {}
    self.dispatchers = {}
    if self.event is not None:  # event listeners only; kept for parity
        events.notify(events.EventRejectedEvent(self, self.event))
        self.event = None


def _spawn_as_child(self, filename, argv):
    # Runs in the forked child just before exec: changes stay in the child.
    # Nothing here may raise, or the child would carry on as a second supervisord.
    try:
        os.environ.pop("NOTIFY_SOCKET", None)  # e.g. systemd's, never inherited
        listener = _state.listener
        if listener is not None and is_notify_type(self):
            environment = dict(self.config.environment or {})
            environment["NOTIFY_SOCKET"] = listener.name
            self.config.environment = environment
    except BaseException:
        pass
    return _originals["_spawn_as_child"](self, filename, argv)


def _patch_subprocess():
    patch_methods(
        Subprocess,
        {
            "transition": _transition,
            "_check_and_adjust_for_system_clock_rollback": _clock_rollback_check,
            "finish": _finish,
            "_spawn_as_child": _spawn_as_child,
        },
        _originals,
    )


# ---------------------------------------------------------------------------
# factory


def _open_listener(supervisord, name):
    old = _state.listener
    if old is not None:
        if old.still_ours() and (name is None or name == old.name):
            return old
        if old.still_ours():
            old.close()
        else:
            # supervisord closes fds >= 5 when it reloads (options.cleanup_fds)
            old.abandon()
    if name is None:
        name = "@kres-supervisord-notify-%d-%s" % (os.getpid(), _state.token)
    listener = NotifySocket(name, _on_datagram, supervisord.options.logger)
    supervisord.options.logger.info("sd_notify: listening on NOTIFY_SOCKET=%s" % name)
    return listener


def _hook_event_loop(supervisord):
    if getattr(supervisord, "_kres_sd_notify_hooked", False):
        return
    stock_get_process_map = supervisord.get_process_map

    def get_process_map():
        process_map = stock_get_process_map()
        listener = _state.listener
        if listener is not None and not listener.closed:
            process_map[listener.fd] = listener
        return process_map

    supervisord.get_process_map = get_process_map
    supervisord._kres_sd_notify_hooked = True


def _close_at_exit():
    if _state.listener is not None:
        _state.listener.close()


class SdNotifyRPCInterface:
    """XML-RPC namespace of the sd_notify plugin."""

    def __init__(self, supervisord):
        self.supervisord = supervisord

    def getSocket(self):  # noqa: N802 (XML-RPC naming)
        """The $NOTIFY_SOCKET address given to notify programs

        @return string address  "@name" (abstract socket) or a path
        """
        return _state.listener.name if _state.listener is not None else ""

    def notify(self, pid, message):
        """Deliver an sd_notify(3) message on behalf of a supervised process

        For programs that cannot send unix datagrams themselves; the caller
        already has full control over supervisord through this API.

        @param int pid          PID of the supervised (notify) process
        @param string message   newline-separated KEY=VALUE, e.g. READY=1
        @return boolean result  always true unless error
        """
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise RPCError(Faults.INCORRECT_PARAMETERS, "pid must be an integer")
        process = process_by_pid(self.supervisord, pid)
        if process is None:
            raise RPCError(Faults.BAD_ARGUMENTS, "PID %d is not a supervised process" % pid)
        if not is_notify_type(process):
            raise RPCError(Faults.FAILED, "%s is not marked X-SUPERVISORD-TYPE=notify" % process_name(process))
        apply_notification(process, parse_notify_message(message), pid)
        return True


def inject(supervisord, **config):
    """rpcinterface factory: installs the hooks, returns the XML-RPC namespace."""
    _patch_subprocess()
    _state.supervisord = supervisord
    _state.listener = _open_listener(supervisord, config.get("socket") or None)
    _state.listener.logger = supervisord.options.logger
    if not getattr(_close_at_exit, "registered", False):
        atexit.register(_close_at_exit)
        _close_at_exit.registered = True
    _hook_event_loop(supervisord)
    return SdNotifyRPCInterface(supervisord)
