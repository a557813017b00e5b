"""Ties supervisord's lifetime to the ``manager`` program.

Configuration::

    [rpcinterface:manager_integration]
    supervisor.rpcinterface_factory = kres_supervisord.manager_integration:inject
    ;program = manager   ; program (group and process) name, default "manager"

Behaviour and the supervisord (4.2.x) internals it relies on:

- ``manager`` enters FATAL -> supervisord shuts down (``options.mood`` =
  SHUTDOWN, which makes ``runforever`` stop every program in priority order)
  and the supervisord process exits with status 1. supervisord's ``main()``
  would return normally, so ``close_logger`` of the running ``ServerOptions``
  instance -- the last thing ``main()`` calls before returning -- is wrapped
  to raise ``SystemExit(1)`` after it did its work.
- ``manager`` enters RUNNING -> ``READY=1`` is sent to systemd's
  ``$NOTIFY_SOCKET`` (if supervisord was given one; it is removed from
  supervisord's environment when the plugin loads, so no program inherits
  it). ``STATUS=`` follows the manager's state; ``STOPPING=1`` is sent when
  supervisord starts shutting down. With ``sd_notify`` marking the manager
  ``X-SUPERVISORD-TYPE=notify``, RUNNING means the manager itself said
  ``READY=1``.
- XML-RPC ``manager_integration.fatal(reason)``: the manager asks for the
  same shutdown with exit status 1 (its watchdog gave up), logging the reason.
- XML-RPC ``manager_integration.exits(name)``: how the last few runs of a
  process ended, newest last, as ``{"pid", "code", "signal", "at"}`` (exit
  code or the number of the signal that ended it, the other being -1). The
  manager tells a worker killed from outside (SIGKILL, SIGTERM) from one that
  failed by itself (exit code, SIGSEGV, SIGABRT...). ``Subprocess.finish`` is
  wrapped to record the raw wait status it is given.
- XML-RPC ``manager_integration.kill(name, pid, stop=False)``: SIGKILL to
  process ``name`` only while ``pid`` is still its process (checked and sent
  in one step of supervisord's single-threaded loop, and supervisord reaps its
  children itself, so the PID cannot have gone to another process meanwhile).
  True when sent, False when that run is over. For a hung worker, which does
  not heed SIGTERM: the exit is unexpected, so autorestart brings it back;
  with ``stop`` it is an administrative stop instead (as ``stopProcess``, but
  by SIGKILL at once), and the process stays STOPPED.
- SIGHUP to supervisord is forwarded to the manager, which reloads its
  configuration, instead of making supervisord restart every program:
  ``get_signal`` of the running ``ServerOptions`` instance is wrapped and
  swallows SIGHUP after forwarding it. When no ``manager`` program is
  configured at all, SIGHUP keeps its stock meaning.
- The manager is spawned as soon as supervisord runs. Stock supervisord
  spawns ``autostart`` programs from the ``transition()`` at the end of a
  main-loop round, and its first round begins with a ``poll`` of up to 1 s
  (nothing is ready yet), so every start-up lost a second. On
  ``SupervisorRunningEvent`` (sent by ``runforever`` just before that loop,
  HTTP servers already open) the manager's own ``transition()`` is called:
  the same stock decision (autostart, STOPPED, never started, not shutting
  down), made a round earlier.
"""

import os
import signal
import socket
import time

from supervisor.events import (
    ProcessStateBackoffEvent,
    ProcessStateEvent,
    ProcessStateFatalEvent,
    ProcessStateRunningEvent,
    ProcessStateStartingEvent,
    SupervisorRunningEvent,
    SupervisorStoppingEvent,
)
from supervisor.states import ProcessStates, SupervisorStates

from collections import deque

from supervisor.process import Subprocess
from supervisor.xmlrpc import Faults, RPCError

from ._common import find_process, patch_methods, subscribe_once

EXITS_KEPT = 10
_EXITS_ATTR = "_kres_exits"
_originals = {}

DEFAULT_PROGRAM = "manager"


class _State:
    supervisord = None
    program = DEFAULT_PROGRAM
    systemd_socket = None  # systemd's $NOTIFY_SOCKET, taken from our environment
    environment_read = False
    exit_status = None


_state = _State()


def send_to_systemd(message, address=None):
    """Send one sd_notify datagram to systemd; False when impossible."""
    address = address if address is not None else _state.systemd_socket
    if not address:
        return False
    if address.startswith("@"):
        target = "\0" + address[1:]
    elif address.startswith("/"):
        target = address
    else:  # e.g. vsock: addresses systemd may use, which we do not speak
        _log("warn", "manager_integration: unsupported NOTIFY_SOCKET %r, not notifying systemd" % address)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK) as sock:
            sock.sendto(message.encode("utf-8"), target)
    except OSError as exc:
        _log("warn", "manager_integration: could not notify systemd (%s): %s" % (address, exc))
        return False
    return True


def _log(level, message):
    supervisord = _state.supervisord
    if supervisord is not None and getattr(supervisord.options, "logger", None) is not None:
        getattr(supervisord.options.logger, level)(message)


def _is_manager(process):
    group = getattr(process, "group", None)
    group_name = group.config.name if group is not None else process.config.name
    return process.config.name == _state.program and group_name == _state.program


def _on_process_state(event):
    if not _is_manager(event.process):
        return
    if isinstance(event, ProcessStateRunningEvent):
        if send_to_systemd("READY=1\nSTATUS=%s is running" % _state.program):
            _log("info", "manager_integration: %s is RUNNING, sent READY=1 to systemd" % _state.program)
    elif isinstance(event, ProcessStateFatalEvent):
        _manager_fatal("%s entered FATAL state" % _state.program)
    elif isinstance(event, ProcessStateStartingEvent):
        send_to_systemd("STATUS=starting %s" % _state.program)
    elif isinstance(event, ProcessStateBackoffEvent):
        send_to_systemd("STATUS=%s failed to start, retrying" % _state.program)


def _manager_fatal(reason):
    supervisord = _state.supervisord
    if supervisord is None or _state.exit_status is not None:
        return
    options = supervisord.options
    options.logger.critical("manager_integration: %s, shutting supervisord down (exit status 1)" % reason)
    send_to_systemd("STATUS=%s failed, shutting down" % _state.program)
    _state.exit_status = 1
    options.mood = SupervisorStates.SHUTDOWN

    # main() calls options.close_logger() last and then returns normally;
    # turn that return into exit status 1 once everything is stopped.
    stock_close_logger = options.close_logger

    def close_logger_then_exit():
        stock_close_logger()
        raise SystemExit(_state.exit_status)

    options.close_logger = close_logger_then_exit


def _on_supervisor_running(_event):
    # see "spawned as soon as supervisord runs" above
    supervisord = _state.supervisord
    manager = find_process(supervisord, _state.program) if supervisord is not None else None
    if manager is not None:
        manager.transition()


def _on_supervisor_stopping(_event):
    send_to_systemd("STOPPING=1")


def forward_sighup(supervisord):
    """Send SIGHUP to the manager. False when no manager program exists."""
    manager = find_process(supervisord, _state.program)
    if manager is None:
        return False
    if not manager.pid:
        supervisord.options.logger.warn(
            "manager_integration: received SIGHUP while %s is not running; ignored" % _state.program
        )
        return True
    try:
        supervisord.options.kill(manager.pid, signal.SIGHUP)
    except OSError as exc:
        supervisord.options.logger.warn(
            "manager_integration: could not forward SIGHUP to %s (%d): %s" % (_state.program, manager.pid, exc)
        )
        return True
    supervisord.options.logger.info(
        "manager_integration: received SIGHUP, forwarded it to %s (pid %d)" % (_state.program, manager.pid)
    )
    return True


def _hook_signals(supervisord):
    options = supervisord.options
    if getattr(options, "_kres_sighup_hooked", False):
        return
    stock_get_signal = options.get_signal

    def get_signal():
        sig = stock_get_signal()
        if sig == signal.SIGHUP and options.mood >= SupervisorStates.RUNNING and forward_sighup(supervisord):
            return None
        return sig

    options.get_signal = get_signal
    options._kres_sighup_hooked = True


def describe_exit(pid, sts, at):
    """One exits() entry from a raw wait status."""
    if os.WIFSIGNALED(sts):
        return {"pid": pid, "code": -1, "signal": os.WTERMSIG(sts), "at": at}
    code = os.WEXITSTATUS(sts) if os.WIFEXITED(sts) else -1
    return {"pid": pid, "code": code, "signal": -1, "at": at}


def _finish(self, pid, sts):
    # replaces Subprocess.finish(pid, sts): note how the run ended, then the stock behaviour
    try:
        exits = getattr(self, _EXITS_ATTR, None)
        if exits is None:
            exits = deque(maxlen=EXITS_KEPT)
            setattr(self, _EXITS_ATTR, exits)
        exits.append(describe_exit(pid, sts, int(time.time())))
    except Exception:
        pass
    return _originals["finish"](self, pid, sts)


def _patch_finish():
    patch_methods(Subprocess, {"finish": _finish}, _originals)


class ManagerIntegrationRPC:
    """XML-RPC namespace for the manager itself."""

    def fatal(self, reason):
        """The manager gives up (e.g. workers keep failing): stop everything, exit status 1."""
        _manager_fatal("manager gave up: %s" % reason)
        return True

    def exits(self, name):
        """How the last runs of process ``name`` ('group:process' or a bare name) ended."""
        return list(getattr(_named_process(name), _EXITS_ATTR, ()))

    def kill(self, name, pid, stop=False):
        """SIGKILL to process ``name`` if it still runs as ``pid``; False when it does not.

        With ``stop``, the process stays stopped (an administrative stop by SIGKILL).
        """
        found = _named_process(name)
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise RPCError(Faults.BAD_ARGUMENTS, "pid must be a positive integer")
        states = (ProcessStates.STARTING, ProcessStates.RUNNING) + ((ProcessStates.STOPPING,) if stop else ())
        if found.pid != pid or found.get_state() not in states:
            return False
        how = "stopping it" if stop else "it will be restarted"
        _log("warn", "manager_integration: SIGKILL to %s (pid %d), asked by the manager; %s" % (name, pid, how))
        if stop:
            found.administrative_stop = True
            found.laststopreport = 0
            failed = found.kill(signal.SIGKILL)
        else:
            failed = found.signal(signal.SIGKILL)
        if failed is not None:
            raise RPCError(Faults.FAILED, failed)
        return True


def _named_process(name):
    """The process ``name`` ('group:process' or a bare name); a BAD_NAME fault when there is none."""
    if not isinstance(name, str) or not name:
        raise RPCError(Faults.BAD_NAME, name)
    group, _, process = name.partition(":")
    found = find_process(_state.supervisord, group, process or None) if _state.supervisord else None
    if found is None:
        raise RPCError(Faults.BAD_NAME, name)
    return found


def inject(supervisord, **config):
    """rpcinterface factory: installs the hooks; XML-RPC ``fatal(reason)``."""
    if not _state.environment_read:
        # systemd's socket is ours to use; children must not inherit it
        _state.systemd_socket = os.environ.pop("NOTIFY_SOCKET", None) or None
        _state.environment_read = True
    _state.program = config.get("program") or DEFAULT_PROGRAM
    _state.supervisord = supervisord
    subscribe_once(ProcessStateEvent, _on_process_state)
    subscribe_once(SupervisorRunningEvent, _on_supervisor_running)
    subscribe_once(SupervisorStoppingEvent, _on_supervisor_stopping)
    _hook_signals(supervisord)
    _patch_finish()
    return ManagerIntegrationRPC()
