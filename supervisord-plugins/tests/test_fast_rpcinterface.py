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


class Listing(unittest.TestCase):
    """supervisorctl status (supervisor.getAllProcessInfo) and the manager's list (fast.*)."""

    def setUp(self):
        self.supervisord = FakeSupervisord()
        self.supervisord.options.mood = SupervisorStates.RUNNING
        self.status = fast_rpcinterface.make_supervisor_rpcinterface(self.supervisord, hide_unstarted="kresd")
        self.fast = fast_rpcinterface.make_main_rpcinterface(self.supervisord)
        slots = {}
        for name, state, started in (
            ("kresd0", ProcessStates.RUNNING, 100),  # a worker
            ("kresd1", ProcessStates.BACKOFF, 100),  # a worker failing to start
            ("kresd2", ProcessStates.STOPPED, 100),  # retired (surplus, or the canary after a change)
            ("kresd3", ProcessStates.STOPPED, 0),  # never started
        ):
            slots[name] = make_process(self.supervisord.options, name=name)
            slots[name].state = state
            slots[name].laststart = started
        gc = make_process(self.supervisord.options, name="cache-gc", notify=False)
        gc.state = ProcessStates.STOPPED
        self.supervisord.process_groups["kresd"] = FakeGroup("kresd", slots)
        self.supervisord.process_groups["cache-gc"] = FakeGroup("cache-gc", {"cache-gc": gc})

    def tearDown(self):
        clear_events()

    def names(self, infos):
        return sorted("%s:%s" % (i["group"], i["name"]) for i in infos)

    def test_status_lists_what_exists_of_the_hidden_groups(self):
        self.assertEqual(
            self.names(self.status.getAllProcessInfo()),
            ["cache-gc:cache-gc", "kresd:kresd0", "kresd:kresd1"],
        )

    def test_the_manager_sees_stopped_workers_but_not_never_started_slots(self):
        self.assertEqual(
            self.names(self.fast.getAllProcessInfo()),
            ["cache-gc:cache-gc", "kresd:kresd0", "kresd:kresd1", "kresd:kresd2"],
        )


if __name__ == "__main__":
    unittest.main()
