"""``startProcess`` that answers as soon as the process is RUNNING.

Configuration::

    [rpcinterface:fast]
    supervisor.rpcinterface_factory = kres_supervisord.fast_rpcinterface:make_main_rpcinterface

which adds ``fast.startProcess(name, wait=True)`` next to the stock
``supervisor.*`` namespace.

The stock namespace itself can come from here too::

    [rpcinterface:supervisor]
    supervisor.rpcinterface_factory = kres_supervisord.fast_rpcinterface:make_supervisor_rpcinterface
    hide_unstarted = kresd

which is the stock one except that ``getAllProcessInfo`` (``supervisorctl
status``) leaves out the processes of the named groups (comma-separated) that
are STOPPED, i.e. have no process and none is meant to run (never started, or
stopped on request: a crashed one is EXITED, BACKOFF or FATAL and stays
listed): a group of hundreds of spare slots lists the workers that exist, the
canary while it runs. ``fast.getAllProcessInfo`` lists the stopped ones too
(those ever started), for the manager. Every process is still reachable by name. With ``sd_notify``, a notify program is RUNNING
as soon as it sent ``READY=1``, so the call returns then, not after
``startsecs``.

Why the stock call is slow: a waiting XML-RPC request is a deferred
callback that supervisord re-checks only when its HTTP channel says it is
writable, which a deferred channel does at most every ``delay`` seconds, and
only when the main loop wakes up -- its poll() sleeps up to 1 s when nothing
happens. So the answer can come up to a second after the state change.

How this one is fast without busy-looping (supervisor 4.2.x internals): the
plugin subscribes to every process state change and, on each, resets
``last_writable_check`` of the HTTP channels that wait on a deferred
response; in the very next loop iteration they are polled for writing, the
deferred callback runs and sees the new state. As a side effect, the stock
``supervisor.startProcess`` / ``stopProcess`` waits answer promptly too.
"""

from supervisor.http import NOT_DONE_YET
from supervisor.rpcinterface import SupervisorNamespaceRPCInterface
from supervisor.options import BadCommand, NoPermission, NotExecutable, NotFound, split_namespec
from supervisor.states import RUNNING_STATES, ProcessStates, SupervisorStates
from supervisor.xmlrpc import Faults, RPCError

from supervisor.events import ProcessStateEvent

from ._common import subscribe_once

# The deferred callback is re-checked on every process state change; this
# is only the fallback period between state changes.
FALLBACK_POLL_SECONDS = 0.5


class _State:
    supervisord = None
    # the groups named by hide_unstarted
    hidden_groups = frozenset()


_state = _State()


def wake_deferred_responses(_event=None):
    """Make every HTTP channel waiting on a deferred answer re-check it now."""
    supervisord = _state.supervisord
    if supervisord is None:
        return
    for dispatcher in list(supervisord.options.get_socket_map().values()):
        # supervisor.http.deferring_http_channel: `delay` is set while its
        # producer (the deferred XML-RPC response) returned NOT_DONE_YET
        if getattr(dispatcher, "delay", 0) and hasattr(dispatcher, "last_writable_check"):
            dispatcher.last_writable_check = 0


class FastRPCInterface:
    def __init__(self, supervisord):
        self.supervisord = supervisord

    def getAllProcessInfo(self):  # noqa: N802 (XML-RPC naming)
        """Get info about all processes but those of the hidden groups never started

        @return array result  An array of process status results
        """
        every = SupervisorNamespaceRPCInterface(self.supervisord).getAllProcessInfo()
        return [i for i in every if not (i["group"] in _state.hidden_groups and _never_started(i))]

    def _process(self, name):
        group_name, process_name = split_namespec(name)
        group = self.supervisord.process_groups.get(group_name)
        if group is None:
            raise RPCError(Faults.BAD_NAME, name)
        if process_name is None:
            raise RPCError(Faults.BAD_NAME, "%s: fast.startProcess starts one process, not a group" % name)
        process = group.processes.get(process_name)
        if process is None:
            raise RPCError(Faults.BAD_NAME, name)
        return process

    def startProcess(self, name, wait=True):  # noqa: N802 (XML-RPC naming)
        """Start a process; with wait, answer as soon as it is RUNNING

        @param string name      Process name (``name`` or ``group:name``)
        @param boolean wait     Wait for the process to be RUNNING
        @return boolean result  Always true unless error
        """
        if self.supervisord.options.mood < SupervisorStates.RUNNING:
            raise RPCError(Faults.SHUTDOWN_STATE)
        process = self._process(name)

        try:  # do not spawn what cannot be executed
            process.get_execv_args()
        except NotFound as exc:
            raise RPCError(Faults.NO_FILE, exc.args[0])
        except (BadCommand, NotExecutable, NoPermission) as exc:
            raise RPCError(Faults.NOT_EXECUTABLE, exc.args[0])

        state = process.get_state()
        if state in RUNNING_STATES:
            raise RPCError(Faults.ALREADY_STARTED, name)
        if state == ProcessStates.UNKNOWN:
            raise RPCError(Faults.FAILED, "%s is in an unknown process state" % name)
        if state == ProcessStates.STOPPING:
            raise RPCError(Faults.FAILED, "%s is still stopping" % name)

        process.spawn()
        # reap() and transition() now rather than in the next loop iteration:
        # an immediate failure becomes a fault right away, startsecs=0 a RUNNING
        self.supervisord.reap()
        if process.spawnerr:
            raise RPCError(Faults.SPAWN_ERROR, name)
        process.transition()

        if not wait or process.get_state() == ProcessStates.RUNNING:
            return True

        def until_running():
            if process.spawnerr:
                raise RPCError(Faults.SPAWN_ERROR, "%s: %s" % (name, process.spawnerr))
            current = process.get_state()
            if current == ProcessStates.RUNNING:
                return True
            if current != ProcessStates.STARTING:
                raise RPCError(Faults.ABNORMAL_TERMINATION, name)
            return NOT_DONE_YET

        until_running.delay = FALLBACK_POLL_SECONDS
        until_running.rpcinterface = self
        return until_running


def make_main_rpcinterface(supervisord, **_config):
    """rpcinterface factory: the ``fast`` XML-RPC namespace."""
    _state.supervisord = supervisord
    subscribe_once(ProcessStateEvent, wake_deferred_responses)
    return FastRPCInterface(supervisord)


def _never_started(info):
    return info["state"] == ProcessStates.STOPPED and not info["start"]


class ListedRPCInterface(SupervisorNamespaceRPCInterface):
    """The stock ``supervisor`` namespace; stopped processes of some groups are not listed."""

    def getAllProcessInfo(self):  # noqa: N802 (XML-RPC naming)
        """Get info about all processes, but the stopped ones of the hidden groups

        @return array result  An array of process status results
        """
        every = SupervisorNamespaceRPCInterface.getAllProcessInfo(self)
        return [
            i for i in every if not (i["group"] in _state.hidden_groups and i["state"] == ProcessStates.STOPPED)
        ]


def make_supervisor_rpcinterface(supervisord, **config):
    """rpcinterface factory: the stock ``supervisor`` namespace, listing less (``hide_unstarted``)."""
    _state.hidden_groups = frozenset(g.strip() for g in config.get("hide_unstarted", "").split(",") if g.strip())
    return ListedRPCInterface(supervisord)
