"""Test helpers. Run the suite with Debian's interpreter (it has the supervisor
module), from the repository root:

    /usr/bin/python3 -m unittest discover supervisord-plugins/tests
"""

import os
import sys

PLUGINS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PLUGINS_DIR not in sys.path:
    sys.path.insert(0, PLUGINS_DIR)

from supervisor import events  # noqa: E402
from supervisor.tests.base import DummyOptions, DummyPConfig  # noqa: E402

NOTIFY_ENV = {"X-SUPERVISORD-TYPE": "notify"}


class FakeSupervisord:
    """Just what the plugins use of supervisor.supervisord.Supervisor."""

    def __init__(self, options=None):
        self.options = options or DummyOptions()
        self.process_groups = {}
        self.reaped = 0

    def get_process_map(self):
        return {}

    def reap(self):
        self.reaped += 1


class FakeGroup:
    def __init__(self, name, processes):
        self.config = type("GroupConfig", (), {"name": name})()
        self.processes = processes
        for process in processes.values():
            process.group = self


def make_process(options, name="kresd0", notify=True, **config):
    from supervisor.process import Subprocess

    pconfig = DummyPConfig(options, name, "/bin/true", environment=dict(NOTIFY_ENV) if notify else None, **config)
    return Subprocess(pconfig)


def clear_events():
    events.clear()
