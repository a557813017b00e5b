"""Test helpers. Run the suite with Debian's interpreter (it has the supervisor
module), from the repository root:

    /usr/bin/python3 -m unittest discover supervisord-plugins/tests
"""

import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import xmlrpc.client

PLUGINS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PLUGINS_DIR not in sys.path:
    sys.path.insert(0, PLUGINS_DIR)

from supervisor import events  # noqa: E402
from supervisor.tests.base import DummyOptions, DummyPConfig  # noqa: E402
from supervisor.xmlrpc import SupervisorTransport  # noqa: E402

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


# ---------------------------------------------------------------------------
# a real supervisord

SUPERVISORD = "/usr/bin/supervisord"

# The start of every real supervisord's config: formatted with dir (its temporary directory);
# a test class's sections follow.
SUPERVISORD_CONF_HEAD = """
[supervisord]
nodaemon = true
logfile = /dev/null
logfile_maxbytes = 0
pidfile = {dir}/supervisord.pid
silent = true
loglevel = info

[unix_http_server]
file = {dir}/supervisord.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[rpcinterface:patch_logger]
supervisor.rpcinterface_factory = kres_supervisord.patch_logger:inject
target = stdout
"""


@unittest.skipUnless(os.access(SUPERVISORD, os.X_OK), "needs Debian's supervisord")
class RealSupervisord(unittest.TestCase):
    """A real supervisord with the plugins, one per test class (no tests of its own).

    It runs in a temporary directory (cls.dir, named after `prefix`) on SUPERVISORD_CONF_HEAD and
    the class's `conf` (both formatted with dir and `conf_vars`), its output going to
    cls.log_path; cls.rpc is an XML-RPC proxy on its socket. `prepare()` writes what the
    programs need into cls.dir before supervisord starts.
    """

    prefix = "kres-supervisord-"
    conf = ""
    conf_vars = {}
    # how long tearDownClass waits for supervisord to stop its programs and exit before SIGKILL
    stop_timeout = 20
    # what a probe of wait_for may raise while the answer is not there yet
    wait_errors = (OSError, http.client.HTTPException, xmlrpc.client.Fault)

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix=cls.prefix)
        cls.prepare()
        conf = os.path.join(cls.dir, "supervisord.conf")
        with open(conf, "w") as config:
            config.write((SUPERVISORD_CONF_HEAD + cls.conf).format(dir=cls.dir, **cls.conf_vars))
        cls.log_path = os.path.join(cls.dir, "supervisord.out")
        env = dict(os.environ, PYTHONPATH=PLUGINS_DIR)
        with open(cls.log_path, "wb") as log:
            cls.supervisord = subprocess.Popen(
                [SUPERVISORD, "-c", conf], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        cls.rpc = None
        try:
            cls.wait_for("supervisord to run", cls.supervisord_running)
        except BaseException:
            cls.tearDownClass()
            raise
        cls.rpc = cls.proxy()

    @classmethod
    def supervisord_running(cls):
        with cls.proxy() as proxy:
            return proxy.supervisor.getState()["statename"] == "RUNNING"

    @classmethod
    def proxy(cls):
        transport = SupervisorTransport(None, None, "unix://" + os.path.join(cls.dir, "supervisord.sock"))
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    @classmethod
    def tearDownClass(cls):
        if cls.rpc is not None:
            cls.rpc("close")()
        if cls.supervisord.poll() is None:
            cls.supervisord.terminate()  # stops its programs first
            try:
                cls.supervisord.wait(cls.stop_timeout)
            except subprocess.TimeoutExpired:
                cls.supervisord.kill()
                cls.supervisord.wait()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def wait_for(cls, what, probe, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            if cls.supervisord.poll() is not None:
                raise AssertionError("supervisord exited (%s) waiting for %s" % (cls.supervisord.returncode, what))
            try:
                value = probe()
            except cls.wait_errors:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s" % what)
            time.sleep(0.05)

    def log(self):
        """Everything supervisord printed so far (its lines and the forwarded ones)."""
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()
