"""Forward children's stdout/stderr to supervisord's own log, line by line.

Configuration::

    [supervisord]
    nodaemon = true
    logfile = /dev/null     ; with "target" below; or "syslog"
    logfile_maxbytes = 0
    silent = true

    [rpcinterface:patch_logger]
    supervisor.rpcinterface_factory = kres_supervisord.patch_logger:inject
    target = stdout         ; optional: stdout, stderr or syslog

    [program:kresd]
    stdout_logfile = NONE   ; per-program files keep working if configured
    stderr_logfile = NONE

Every complete line a child writes becomes one record on each handler of
supervisord's main logger, as ``<time> name[pid]: line`` on file and stream
handlers and ``name[pid]: line`` on syslog (where a leading ``<N>`` syslog
priority written by the child, as in sd-daemon(3), selects the priority;
elsewhere it is just stripped). Forwarded lines ignore supervisord's
``loglevel``: the child decides what it prints.

XML-RPC ``patch_logger.tail(name)`` returns what the most recent run of a
process printed, for telling an API user why a worker failed::

    {"pid": 4242, "lines": ["...", "[system] error while loading config: ..."]}

``name`` is ``group:process`` (``kresd:kresd3``) or, for a program whose group
has its name, just that name (``cache-gc``); any other name is a ``BAD_NAME``
fault. ``lines`` are the last TAIL_LINES (50) complete lines of stdout and
stderr, interleaved in arrival order, decoded as forwarded but without the
``name[pid]: `` prefix (a leading ``<N>`` is dropped, a line cut at 64 KiB
becomes several); a last line without newline counts once the pipe closes.
Characters XML 1.0 cannot carry, and the other control characters except
tab, are replaced by U+FFFD. ``pid`` is that run's PID (0 when the process
never ran, or its last start failed before fork). The lines stay after the
process exited, was killed or went FATAL, until the process is spawned again:
every start attempt begins with an empty buffer. Lines written while
``capturemode`` (PROCESS_COMMUNICATION) is on are not forwarded and not kept.

``target``, when set, replaces the handlers of supervisord's main logger by
one handler writing to supervisord's stdout, stderr or syslog, for its own
messages and the forwarded lines alike. Without it the handlers supervisord
made from ``logfile`` / ``silent`` are used: ``-n`` without ``silent`` logs
to stdout. Note that ``logfile=/dev/stdout`` fails (ENXIO) when stdout is a
socket, which it is under systemd (journald) and under node's child_process.

Hooks (supervisor 4.2.x): ``POutputDispatcher._log``, which receives the raw
chunks read from a child's pipe, is replaced (the per-program log file and
PROCESS_LOG events still work as before; the DEBUG-level copy supervisord
puts into its main log is dropped, since every line is forwarded anyway),
and ``POutputDispatcher.close`` flushes a last line that had no newline.
``Subprocess.drain``, which ``finish()`` calls for a reaped child just before
it closes the pipes, is wrapped to flush such a line too when that last read
still returned data (the dispatcher then never sees the end of file).
Lines longer than 64 KiB are forwarded in pieces. ``target`` swaps
``options.logger.handlers`` of the running supervisord. The ``tail`` buffer
is a bounded deque kept on the ``Subprocess`` object; ``Subprocess.spawn`` is
wrapped to replace it at every start (a PID different from the recorded one
also starts a new buffer, should a start ever bypass ``spawn``). Processes
re-created by a reload or ``update`` start empty.
"""

import re
import sys
from collections import deque

from supervisor.dispatchers import POutputDispatcher, stripEscapes
from supervisor.events import ProcessLogStderrEvent, ProcessLogStdoutEvent, notify
from supervisor.loggers import LevelsByName, LogRecord, StreamHandler, SyslogHandler
from supervisor.options import split_namespec
from supervisor.process import Subprocess
from supervisor.xmlrpc import Faults, RPCError

from ._common import patch_methods, process_name

try:
    import syslog
except ImportError:  # pragma: no cover (not on Linux)
    syslog = None

MAX_LINE = 64 * 1024
LINE_FORMAT = "%(asctime)s %(message)s\n"
_PRIORITY_PREFIX = re.compile(r"<([0-7])>")
_PARTIAL_ATTR = "_kres_partial_line"
_TAIL_ATTR = "_kres_run_tail"
TAIL_LINES = 50
# what XML 1.0 cannot carry (or would not carry unchanged: CR), plus the other
# control characters; \t is kept, \n never occurs inside a line
_NOT_XML_SAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

_originals = {}


def decode_line(raw):
    """(syslog priority or None, text) for one raw output line."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if text.endswith("\r"):
        text = text[:-1]
    priority = None
    match = _PRIORITY_PREFIX.match(text)
    if match:
        priority = int(match.group(1))
        text = text[match.end() :]
    return priority, text


def format_line(name, pid, raw):
    """(syslog priority or None, 'name[pid]: text') for one raw output line."""
    priority, text = decode_line(raw)
    return priority, "%s[%d]: %s" % (name, pid, text)


def xml_safe(text):
    """``text`` with every character XML 1.0 cannot carry replaced by U+FFFD."""
    return _NOT_XML_SAFE.sub("\ufffd", text)


class RunTail:
    """The last TAIL_LINES lines of one run (one PID) of a process."""

    __slots__ = ("pid", "lines")

    def __init__(self, pid=0):
        self.pid = pid
        self.lines = deque(maxlen=TAIL_LINES)


def current_tail(process):
    """The RunTail of the process's most recent run, or None when it has none yet.

    A tail recorded under another PID than the one the process runs with now
    belongs to an older run (only when the spawn hook did not see the start).
    """
    tail = getattr(process, _TAIL_ATTR, None)
    if tail is not None and process.pid and tail.pid != process.pid:
        return None
    return tail


def _tail_for_output(process):
    tail = current_tail(process)
    if tail is None:
        tail = RunTail(process.pid or 0)
        setattr(process, _TAIL_ATTR, tail)
    return tail


def emit_line(logger, priority, message):
    """Write one forwarded line to every handler of supervisord's logger."""
    record = None
    for handler in list(logger.handlers):
        if isinstance(handler, SyslogHandler):
            _to_syslog(handler, priority, message)
            continue
        if record is None:
            record = LogRecord(LevelsByName.INFO, message)
        stock_format = handler.fmt
        handler.fmt = LINE_FORMAT
        try:
            handler.emit(record)
        finally:
            handler.fmt = stock_format


def _to_syslog(handler, priority, message):
    if syslog is None:
        return
    try:
        syslog.syslog(syslog.LOG_INFO if priority is None else priority, message)
    except Exception:
        handler.handleError()


def _split_lines(dispatcher, data):
    """Complete lines in ``data`` (bytes), keeping a trailing partial line."""
    buffered = getattr(dispatcher, _PARTIAL_ATTR, b"") + data
    lines = buffered.split(b"\n")
    partial = lines.pop()
    while len(partial) > MAX_LINE:
        lines.append(partial[:MAX_LINE])
        partial = partial[MAX_LINE:]
    setattr(dispatcher, _PARTIAL_ATTR, partial)
    return lines


def forward(dispatcher, data, flush=False):
    if isinstance(data, str):
        data = data.encode("utf-8")
    lines = _split_lines(dispatcher, data)
    if flush:
        partial = getattr(dispatcher, _PARTIAL_ATTR, b"")
        if partial:
            lines.append(partial)
        setattr(dispatcher, _PARTIAL_ATTR, b"")
    if not lines:
        return
    process = dispatcher.process
    decoded = [decode_line(raw) for raw in lines]
    _tail_for_output(process).lines.extend(text for _priority, text in decoded)
    name = process_name(process)
    logger = process.config.options.logger
    for priority, text in decoded:
        emit_line(logger, priority, "%s[%d]: %s" % (name, process.pid, text))


def _log(self, data):
    # replaces POutputDispatcher._log(data): data is a chunk read from the pipe
    if not data:
        return
    config = self.process.config
    if config.options.strip_ansi:
        data = stripEscapes(data)
    if self.childlog:
        self.childlog.info(data)
    if not self.capturemode:  # captured data is an event payload, not output
        try:
            forward(self, data)
        except Exception:
            self.process.config.options.logger.error(
                "patch_logger: could not forward output of %s: %r" % (process_name(self.process), sys.exc_info()[1])
            )
    if self.channel == "stdout":
        if self.stdout_events_enabled:
            notify(ProcessLogStdoutEvent(self.process, self.process.pid, data))
    elif self.stderr_events_enabled:
        notify(ProcessLogStderrEvent(self.process, self.process.pid, data))


def _close(self):
    if not self.closed and getattr(self, _PARTIAL_ATTR, b""):
        try:
            forward(self, b"", flush=True)
        except Exception:
            pass
    return _originals["close"](self)


def _drain(self):
    # replaces Subprocess.drain(), which finish() calls for a reaped child right
    # before it closes the child's pipes: when that last read still got data,
    # the dispatcher never sees the end of file, so its last line is flushed here
    _originals["drain"](self)
    for dispatcher in list(self.dispatchers.values()):
        if isinstance(dispatcher, POutputDispatcher) and not dispatcher.closed:
            if getattr(dispatcher, _PARTIAL_ATTR, b""):
                try:
                    forward(dispatcher, b"", flush=True)
                except Exception:
                    pass


def _spawn(self):
    # replaces Subprocess.spawn(): every start attempt is a new run
    if self.pid:  # already running: the stock method only warns
        return _originals["spawn"](self)
    tail = RunTail()
    setattr(self, _TAIL_ATTR, tail)
    pid = _originals["spawn"](self)
    if pid:  # None when the start failed before fork(); the child never returns
        tail.pid = pid
    return pid


def _install_hooks():
    patch_methods(POutputDispatcher, {"_log": _log, "close": _close}, _originals)
    patch_methods(Subprocess, {"spawn": _spawn, "drain": _drain}, _originals)


SUPERVISORD_FORMAT = "%(asctime)s %(levelname)s %(message)s\n"
TARGETS = ("stdout", "stderr", "syslog")


def make_target_handler(target, level):
    if target == "syslog":
        handler = SyslogHandler()
        handler.setFormat("%(levelname)s %(message)s")
    else:
        handler = StreamHandler(sys.stdout if target == "stdout" else sys.stderr)
        handler.setFormat(SUPERVISORD_FORMAT)
    handler.setLevel(level)
    return handler


def _retarget(logger, target):
    if getattr(logger, "_kres_target", None) == target:
        return
    for handler in logger.handlers:
        handler.close()  # never closes fds 0-2
    logger.handlers = [make_target_handler(target, logger.level)]
    logger._kres_target = target


class PatchLoggerRPC:
    """XML-RPC namespace ``patch_logger``."""

    def __init__(self, supervisord):
        self.supervisord = supervisord

    def _process(self, name):
        if not isinstance(name, str) or not name or self.supervisord is None:
            raise RPCError(Faults.BAD_NAME, name)
        group_name, name_in_group = split_namespec(name)
        group = self.supervisord.process_groups.get(group_name)
        process = group.processes.get(name_in_group) if group is not None and name_in_group else None
        if process is None:
            raise RPCError(Faults.BAD_NAME, name)
        return process

    def tail(self, name):
        """Last lines the most recent run of a process printed (stdout and stderr)

        @param string name  Process name (``group:name``, or ``name`` when the group has its name)
        @return struct result  ``pid`` of that run (0 if none) and ``lines``, oldest first
        """
        process = self._process(name)
        tail = current_tail(process)
        if tail is None:
            return {"pid": process.pid or 0, "lines": []}
        return {"pid": tail.pid, "lines": [xml_safe(line) for line in tail.lines]}


def inject(supervisord, **config):
    """rpcinterface factory: installs the hooks; XML-RPC ``tail(name)``."""
    target = config.get("target")
    if target is not None and target not in TARGETS:
        raise ValueError("patch_logger: target must be one of %s, not %r" % (", ".join(TARGETS), target))
    _install_hooks()
    if target is not None and supervisord is not None:
        _retarget(supervisord.options.logger, target)
    return PatchLoggerRPC(supervisord)
