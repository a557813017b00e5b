import unittest

from _support import FakeGroup, FakeSupervisord, clear_events, make_process  # noqa: I001 (sets sys.path)

from supervisor.states import ProcessStates, SupervisorStates
from supervisor.xmlrpc import Faults, RPCError

from kres_supervisord import fast_rpcinterface


class Channel:
    """What the wake-up looks at in supervisor.http.deferring_http_channel."""

    def __init__(self, delay):
        self.delay = delay
        self.last_writable_check = 123.0


class FastStart(unittest.TestCase):
    def setUp(self):
        self.supervisord = FakeSupervisord()
        self.supervisord.options.mood = SupervisorStates.RUNNING
        self.interface = fast_rpcinterface.make_main_rpcinterface(self.supervisord)
        self.process = make_process(self.supervisord.options, name="kresd0")
        self.supervisord.process_groups["kresd"] = FakeGroup("kresd", {"kresd0": self.process})

    def tearDown(self):
        clear_events()

    def fault(self, name):
        with self.assertRaises(RPCError) as raised:
            self.interface.startProcess(name)
        return raised.exception.code

    def test_state_changes_wake_waiting_channels(self):
        waiting, idle = Channel(0.5), Channel(0)
        self.supervisord.options.socket_map.update({7: waiting, 8: idle, 9: object()})
        self.process.state = ProcessStates.STOPPED
        self.process.change_state(ProcessStates.STARTING)
        self.assertEqual(waiting.last_writable_check, 0)
        self.assertEqual(idle.last_writable_check, 123.0)

    def test_refuses_unknown_names_and_groups(self):
        self.assertEqual(self.fault("nope"), Faults.BAD_NAME)
        self.assertEqual(self.fault("kresd:nope"), Faults.BAD_NAME)
        self.assertEqual(self.fault("kresd:*"), Faults.BAD_NAME)

    def test_refuses_started_and_stopping_processes(self):
        self.process.config.command = "/bin/true"
        for state, code in (
            (ProcessStates.RUNNING, Faults.ALREADY_STARTED),
            (ProcessStates.STARTING, Faults.ALREADY_STARTED),
            (ProcessStates.BACKOFF, Faults.ALREADY_STARTED),
            (ProcessStates.STOPPING, Faults.FAILED),
        ):
            self.process.state = state
            self.assertEqual(self.fault("kresd:kresd0"), code)

    def test_refuses_while_shutting_down(self):
        self.supervisord.options.mood = SupervisorStates.SHUTDOWN
        self.assertEqual(self.fault("kresd:kresd0"), Faults.SHUTDOWN_STATE)


if __name__ == "__main__":
    unittest.main()
