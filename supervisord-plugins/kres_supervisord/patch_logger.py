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
Lines longer than 64 KiB are forwarded in pieces. ``target`` swaps
``options.logger.handlers`` of the running supervisord.
"""

import re
import sys

from supervisor.dispatchers import PDispatcher, POutputDispatcher, stripEscapes
from supervisor.events import ProcessLogStderrEvent, ProcessLogStdoutEvent, notify
from supervisor.loggers import LevelsByName, LogRecord, StreamHandler, SyslogHandler

from ._common import process_name

try:
    import syslog
except ImportError:  # pragma: no cover (not on Linux)
    syslog = None

MAX_LINE = 64 * 1024
LINE_FORMAT = "%(asctime)s %(message)s\n"
_PRIORITY_PREFIX = re.compile(r"<([0-7])>")
_PARTIAL_ATTR = "_kres_partial_line"

_patched = {}


def format_line(name, pid, raw):
    """(syslog priority or None, 'name[pid]: text') for one raw output line."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if text.endswith("\r"):
        text = text[:-1]
    priority = None
    match = _PRIORITY_PREFIX.match(text)
    if match:
        priority = int(match.group(1))
        text = text[match.end() :]
    return priority, "%s[%d]: %s" % (name, pid, text)


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
    name = process_name(process)
    logger = process.config.options.logger
    for raw in lines:
        priority, message = format_line(name, process.pid, raw)
        emit_line(logger, priority, message)


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
    return _patched["close"](self)


def _patch_dispatcher():
    if _patched:
        return
    _patched["_log"] = POutputDispatcher._log
    _patched["close"] = POutputDispatcher.__dict__.get("close", PDispatcher.close)
    POutputDispatcher._log = _log
    POutputDispatcher.close = _close


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


def inject(supervisord, **config):
    """rpcinterface factory: installs the hooks; no XML-RPC methods."""
    target = config.get("target")
    if target is not None and target not in TARGETS:
        raise ValueError("patch_logger: target must be one of %s, not %r" % (", ".join(TARGETS), target))
    _patch_dispatcher()
    if target is not None and supervisord is not None:
        _retarget(supervisord.options.logger, target)
    return None
