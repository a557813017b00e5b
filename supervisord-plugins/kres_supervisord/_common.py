"""Helpers shared by the plugins (they only touch supervisor 4.2.x internals)."""

import os

from supervisor import events

# A program opts into the sd_notify protocol with this pair in its
# ``environment=`` (the same marker as upstream Knot Resolver 6).
NOTIFY_MARKER_KEY = "X-SUPERVISORD-TYPE"
NOTIFY_MARKER_VALUE = "notify"


def is_notify_type(process):
    """True when the program section marks the process as sd_notify-aware."""
    environment = getattr(process.config, "environment", None)
    return bool(environment) and environment.get(NOTIFY_MARKER_KEY) == NOTIFY_MARKER_VALUE


def patch_methods(cls, replacements, originals):
    """Puts ``replacements`` (method name -> function) on the supervisor class ``cls``.

    Each name is replaced once per interpreter (supervisord calls plugin
    factories again on every reload). What the name held before -- stock code
    or another plugin's replacement, so the patches chain -- is kept in
    ``originals[name]`` for the replacement to call.
    """
    for name, replacement in replacements.items():
        if name not in originals:
            originals[name] = getattr(cls, name)
            setattr(cls, name, replacement)


def fd_identity(fd):
    """(device, inode) of what ``fd`` refers to, or None when it is not open.

    Tells whether a descriptor number still holds the socket it was given to
    (a closed and reused number points at something else).
    """
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def subscribe_once(event_type, callback):
    """events.subscribe() unless this very callback is already registered.

    supervisord clears all subscriptions at the start of every run (reload),
    and calls rpcinterface factories once per HTTP server, so plugins
    subscribe from their factory through this helper.
    """
    if (event_type, callback) not in events.callbacks:
        events.subscribe(event_type, callback)


def process_name(process):
    name = process.config.name
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


def find_process(supervisord, group_name, name=None):
    """The Subprocess ``group_name:name`` (name defaults to the group name), or None."""
    group = supervisord.process_groups.get(group_name)
    if group is None:
        return None
    return group.processes.get(name if name is not None else group_name)


def process_by_pid(supervisord, pid):
    """The live supervised process with exactly this PID, or None."""
    if pid <= 0:
        return None
    process = supervisord.options.pidhistory.get(pid)
    if process is not None and process.pid == pid:
        return process
    return None


def parent_pid(pid):
    """PPID of ``pid`` read from /proc, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses,
    # so the fields are counted from the last closing parenthesis.
    try:
        fields = data[data.rindex(b")") + 1 :].split()
        return int(fields[1])
    except (ValueError, IndexError):
        return None


def supervised_ancestor(supervisord, pid, max_depth=32):
    """The supervised process that is ``pid`` itself or its nearest ancestor.

    Lets a program that runs its daemon as a child (a wrapper script that does
    not ``exec``) report readiness from that child. Processes that are already
    gone cannot be traced, so the sender must still be alive when the message
    is read.
    """
    own_pid = os.getpid()
    current = pid
    for _ in range(max_depth):
        process = process_by_pid(supervisord, current)
        if process is not None:
            return process
        parent = parent_pid(current)
        if parent is None or parent <= 1 or parent == own_pid:
            return None
        current = parent
    return None
