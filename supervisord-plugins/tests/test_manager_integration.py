import os
import signal
import socket
import tempfile
import unittest

from _support import FakeGroup, FakeSupervisord, clear_events, make_process  # noqa: I001 (sets sys.path)

from supervisor import events
from supervisor.states import ProcessStates, SupervisorStates

from kres_supervisord import manager_integration


class SystemdSocket(unittest.TestCase):
    def receive_one(self, address, bind_to):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(bind_to)
            sock.settimeout(2)
            self.assertTrue(manager_integration.send_to_systemd("READY=1", address))
            return sock.recv(100)

    def test_sends_to_a_path(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "notify")
            self.assertEqual(self.receive_one(path, path), b"READY=1")

    def test_sends_to_an_abstract_socket(self):
        name = "kres-test-systemd-%d" % os.getpid()
        self.assertEqual(self.receive_one("@" + name, "\0" + name), b"READY=1")

    def test_without_a_socket_does_nothing(self):
        self.assertFalse(manager_integration.send_to_systemd("READY=1", ""))
        self.assertFalse(manager_integration.send_to_systemd("READY=1", "vsock:2:1234"))


class ManagerLifecycle(unittest.TestCase):
    def setUp(self):
        self.saved_environ = os.environ.get("NOTIFY_SOCKET")
        self.tmp = tempfile.TemporaryDirectory()
        self.systemd_path = os.path.join(self.tmp.name, "notify")
        self.systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.systemd.bind(self.systemd_path)
        self.systemd.settimeout(2)
        os.environ["NOTIFY_SOCKET"] = self.systemd_path
        manager_integration._state.environment_read = False
        manager_integration._state.exit_status = None

        self.supervisord = FakeSupervisord()
        options = self.supervisord.options
        options.mood = SupervisorStates.RUNNING
        self.manager = make_process(options, name="manager", notify=False)
        self.manager.pid = 4242
        self.supervisord.process_groups["manager"] = FakeGroup("manager", {"manager": self.manager})
        self.closed_logger = False

        def close_logger():
            self.closed_logger = True

        options.close_logger = close_logger
        manager_integration.inject(self.supervisord)

    def tearDown(self):
        clear_events()
        self.systemd.close()
        self.tmp.cleanup()
        if self.saved_environ is None:
            os.environ.pop("NOTIFY_SOCKET", None)
        else:
            os.environ["NOTIFY_SOCKET"] = self.saved_environ
        manager_integration._state.environment_read = False
        manager_integration._state.systemd_socket = None
        manager_integration._state.exit_status = None

    def test_takes_systemds_socket_out_of_the_environment(self):
        self.assertNotIn("NOTIFY_SOCKET", os.environ)
        self.assertEqual(manager_integration._state.systemd_socket, self.systemd_path)

    def test_running_manager_sends_ready_to_systemd(self):
        self.manager.state = ProcessStates.STARTING
        self.manager.change_state(ProcessStates.RUNNING)
        self.assertEqual(self.systemd.recv(200), b"READY=1\nSTATUS=manager is running")

    def test_other_programs_do_not(self):
        other = make_process(self.supervisord.options, name="kresd0")
        FakeGroup("kresd", {"kresd0": other})
        other.state = ProcessStates.STARTING
        other.change_state(ProcessStates.RUNNING)
        self.systemd.settimeout(0.1)
        with self.assertRaises(socket.timeout):
            self.systemd.recv(200)

    def test_fatal_manager_shuts_down_with_exit_status_1(self):
        self.manager.state = ProcessStates.BACKOFF
        self.manager.change_state(ProcessStates.FATAL)
        options = self.supervisord.options
        self.assertEqual(options.mood, SupervisorStates.SHUTDOWN)
        with self.assertRaises(SystemExit) as leaving:
            options.close_logger()
        self.assertEqual(leaving.exception.code, 1)
        self.assertTrue(self.closed_logger)

    def test_manager_can_ask_for_a_fatal_shutdown_over_xmlrpc(self):
        rpc = manager_integration.inject(self.supervisord)
        self.assertTrue(rpc.fatal("kresd keeps crashing"))
        options = self.supervisord.options
        self.assertEqual(options.mood, SupervisorStates.SHUTDOWN)
        with self.assertRaises(SystemExit) as leaving:
            options.close_logger()
        self.assertEqual(leaving.exception.code, 1)

    def test_sighup_goes_to_the_manager(self):
        options = self.supervisord.options
        options._signal = signal.SIGHUP
        self.assertIsNone(options.get_signal())
        self.assertEqual(options.kills, {4242: signal.SIGHUP})
        options._signal = signal.SIGTERM
        self.assertEqual(options.get_signal(), signal.SIGTERM)

    def test_sighup_is_swallowed_while_the_manager_is_down(self):
        options = self.supervisord.options
        self.manager.pid = 0
        options._signal = signal.SIGHUP
        self.assertIsNone(options.get_signal())
        self.assertEqual(options.kills, {})

    def test_sighup_keeps_its_stock_meaning_without_a_manager_program(self):
        options = self.supervisord.options
        del self.supervisord.process_groups["manager"]
        options._signal = signal.SIGHUP
        self.assertEqual(options.get_signal(), signal.SIGHUP)

    def test_manager_is_spawned_when_supervisord_starts_running(self):
        # not a main-loop round (up to 1 s) later, as stock supervisord would
        options = self.supervisord.options
        options.forkpid = 5151  # DummyOptions.fork(): we are the parent of that pid
        self.manager.pid = 0
        self.assertEqual(self.manager.state, ProcessStates.STOPPED)
        events.notify(events.SupervisorRunningEvent())
        self.assertEqual(self.manager.state, ProcessStates.STARTING)
        self.assertEqual(self.manager.pid, 5151)

    def test_manager_is_not_spawned_when_supervisord_is_shutting_down(self):
        options = self.supervisord.options
        options.forkpid = 5151
        self.manager.pid = 0
        options.mood = SupervisorStates.SHUTDOWN
        events.notify(events.SupervisorRunningEvent())
        self.assertEqual(self.manager.state, ProcessStates.STOPPED)

    def test_is_idempotent(self):
        get_signal = self.supervisord.options.get_signal
        manager_integration.inject(self.supervisord)
        self.assertIs(self.supervisord.options.get_signal, get_signal)
        self.manager.state = ProcessStates.STARTING
        self.manager.change_state(ProcessStates.RUNNING)
        self.systemd.recv(200)
        self.systemd.settimeout(0.1)
        with self.assertRaises(socket.timeout):  # subscribed once: one READY=1
            self.systemd.recv(200)


if __name__ == "__main__":
    unittest.main()


class ExitRecords(unittest.TestCase):
    """How a run ended: the manager tells a kill from outside from a failure."""

    def wait_status(self, argv):
        pid = os.fork()
        if pid == 0:  # pragma: no cover (child)
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        return pid, os.waitpid(pid, 0)[1]

    def test_describes_an_exit_code(self):
        pid, sts = self.wait_status(["sh", "-c", "exit 3"])
        self.assertEqual(manager_integration.describe_exit(pid, sts, 7), {"pid": pid, "code": 3, "signal": -1, "at": 7})

    def test_describes_a_signal(self):
        pid, sts = self.wait_status(["sh", "-c", "kill -KILL $$"])
        self.assertEqual(manager_integration.describe_exit(pid, sts, 7)["signal"], signal.SIGKILL)
        self.assertEqual(manager_integration.describe_exit(pid, sts, 7)["code"], -1)

    def test_finish_records_the_last_runs_newest_last_and_exits_returns_them(self):
        supervisord = FakeSupervisord()
        worker = make_process(supervisord.options, name="kresd1")
        supervisord.process_groups["kresd"] = FakeGroup("kresd", {"kresd1": worker})
        rpc = manager_integration.inject(supervisord)
        self.addCleanup(clear_events)
        recorded = []
        # the stock finish() needs a fully spawned process; only the recording is under test
        manager_integration._originals["finish"], saved = (lambda *a: recorded.append(a)), manager_integration._originals["finish"]
        self.addCleanup(manager_integration._originals.__setitem__, "finish", saved)
        for pid in range(100, 113):
            _, sts = self.wait_status(["sh", "-c", "kill -KILL $$" if pid % 2 else "exit 1"])
            worker.finish(pid, sts)
        exits = rpc.exits("kresd:kresd1")
        self.assertEqual(len(recorded), 13)
        self.assertEqual([e["pid"] for e in exits], list(range(103, 113)))  # the last 10
        self.assertEqual((exits[-1]["code"], exits[-1]["signal"]), (1, -1))  # pid 112: exit 1
        self.assertEqual((exits[-2]["code"], exits[-2]["signal"]), (-1, signal.SIGKILL))  # pid 111

    def test_exits_of_an_unknown_process_is_a_bad_name_fault(self):
        from supervisor.xmlrpc import Faults, RPCError

        supervisord = FakeSupervisord()
        rpc = manager_integration.inject(supervisord)
        self.addCleanup(clear_events)
        with self.assertRaises(RPCError) as caught:
            rpc.exits("kresd:nope")
        self.assertEqual(caught.exception.code, Faults.BAD_NAME)


class KillByPid(unittest.TestCase):
    """kill(name, pid): SIGKILL to the run the manager saw hang, never to a later one."""

    def setUp(self):
        self.supervisord = FakeSupervisord()
        self.worker = make_process(self.supervisord.options, name="kresd0")
        self.supervisord.process_groups["kresd"] = FakeGroup("kresd", {"kresd0": self.worker})
        self.rpc = manager_integration.inject(self.supervisord)
        self.addCleanup(clear_events)
        self.worker.pid = 4321
        self.worker.state = ProcessStates.RUNNING

    def test_kills_the_process_while_it_runs_as_that_pid(self):
        self.assertTrue(self.rpc.kill("kresd:kresd0", 4321))
        self.assertEqual(self.supervisord.options.kills, {4321: signal.SIGKILL})

    def test_with_stop_it_is_an_administrative_stop(self):
        self.assertTrue(self.rpc.kill("kresd:kresd0", 4321, True))
        self.assertEqual(self.supervisord.options.kills, {4321: signal.SIGKILL})
        self.assertEqual(self.worker.state, ProcessStates.STOPPING)
        self.assertTrue(self.worker.administrative_stop)  # its exit is expected: no autorestart

    def test_with_stop_it_also_ends_a_stop_that_sigterm_did_not(self):
        self.worker.state = ProcessStates.STOPPING
        self.assertFalse(self.rpc.kill("kresd:kresd0", 4321))
        self.assertTrue(self.rpc.kill("kresd:kresd0", 4321, True))
        self.assertEqual(self.supervisord.options.kills, {4321: signal.SIGKILL})

    def test_leaves_a_later_run_alone(self):
        self.assertFalse(self.rpc.kill("kresd:kresd0", 1234))
        self.worker.state = ProcessStates.EXITED
        self.assertFalse(self.rpc.kill("kresd:kresd0", 4321))
        self.assertEqual(self.supervisord.options.kills, {})

    def test_refuses_what_is_not_a_pid_or_a_process(self):
        from supervisor.xmlrpc import Faults, RPCError

        for pid in (0, -1, "4321", True):
            with self.assertRaises(RPCError) as caught:
                self.rpc.kill("kresd:kresd0", pid)
            self.assertEqual(caught.exception.code, Faults.BAD_ARGUMENTS)
        with self.assertRaises(RPCError) as caught:
            self.rpc.kill("kresd:nope", 4321)
        self.assertEqual(caught.exception.code, Faults.BAD_NAME)
        self.assertEqual(self.supervisord.options.kills, {})
