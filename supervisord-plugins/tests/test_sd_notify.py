import array
import os
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from _support import FakeGroup, FakeSupervisord, clear_events, make_process  # noqa: I001 (sets sys.path)

from supervisor.states import ProcessStates
from supervisor.tests.base import DummyOptions
from supervisor.xmlrpc import RPCError

from kres_supervisord import sd_notify
from kres_supervisord._common import supervised_ancestor


def wait_status_killed(sig):
    return sig  # what waitpid reports for a child killed by `sig`


def wait_status_exited(code):
    return code << 8


class ParseMessage(unittest.TestCase):
    def test_splits_assignments_per_line(self):
        self.assertEqual(
            sd_notify.parse_notify_message(b"READY=1\nSTATUS=all good = fine\n"),
            {"READY": "1", "STATUS": "all good = fine"},
        )

    def test_skips_lines_without_assignment(self):
        self.assertEqual(sd_notify.parse_notify_message(b"junk\n=x\nSTOPPING=1"), {"STOPPING": "1"})

    def test_accepts_text(self):
        self.assertEqual(sd_notify.parse_notify_message("READY=1"), {"READY": "1"})


class Datagrams(unittest.TestCase):
    def setUp(self):
        self.name = "@kres-test-%d-%d" % (os.getpid(), id(self))
        self.received = []
        self.listener = sd_notify.NotifySocket(self.name, lambda pid, data: self.received.append((pid, data)), None)

    def tearDown(self):
        self.listener.close()

    def send(self, payload, fds=()):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            ancillary = []
            if fds:
                ancillary.append((socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds)))
            sock.sendmsg([payload], ancillary, 0, sd_notify.socket_address(self.name))

    def test_kernel_supplies_the_sender_pid(self):
        self.send(b"READY=1")
        self.listener.handle_read_event()
        self.assertEqual(self.received, [(os.getpid(), b"READY=1")])

    def test_reads_every_queued_datagram_and_then_stops(self):
        for n in range(3):
            self.send(b"STATUS=%d" % n)
        self.listener.handle_read_event()
        self.assertEqual([data for _, data in self.received], [b"STATUS=0", b"STATUS=1", b"STATUS=2"])
        self.listener.handle_read_event()  # nothing queued: returns without blocking
        self.assertEqual(len(self.received), 3)

    def test_closes_file_descriptors_passed_along(self):
        read_end, write_end = os.pipe()
        try:
            self.send(b"FDSTORE=1", fds=[read_end])
            before = set(os.listdir("/proc/self/fd"))
            self.listener.handle_read_event()
            after = set(os.listdir("/proc/self/fd"))
        finally:
            os.close(read_end)
            os.close(write_end)
        self.assertEqual(after - before, set())
        self.assertEqual(self.received[0][1], b"FDSTORE=1")

    def test_is_a_loop_dispatcher(self):
        self.assertTrue(self.listener.readable())
        self.assertFalse(self.listener.writable())
        self.assertTrue(self.listener.still_ours())
        self.listener.close()
        self.assertFalse(self.listener.readable())
        self.assertFalse(self.listener.still_ours())

    def test_notices_when_its_fd_was_closed_behind_its_back(self):
        os.close(self.listener.fd)  # what supervisord's cleanup_fds does on reload
        self.assertFalse(self.listener.still_ours())
        self.listener.abandon()

    def test_path_socket_replaces_a_stale_one_and_removes_it_on_close(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "notify")
            first = sd_notify.NotifySocket(path, lambda *_: None, None)
            first.sock.detach()  # leaves the file, as a crashed supervisord would
            second = sd_notify.NotifySocket(path, lambda *_: None, None)
            self.assertTrue(os.path.exists(path))
            second.close()
            self.assertFalse(os.path.exists(path))

    def test_path_socket_is_for_its_owner_only(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "notify")
            old = os.umask(0)
            try:
                listener = sd_notify.NotifySocket(path, lambda *_: None, None)
            finally:
                os.umask(old)
            try:
                self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o600)
                self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
            finally:
                listener.close()


class Ancestry(unittest.TestCase):
    def test_maps_a_descendant_to_the_supervised_process(self):
        shell = subprocess.Popen(["/bin/sh", "-c", "sleep 30 & echo $!; wait"], stdout=subprocess.PIPE)
        grandchild = int(shell.stdout.readline())
        try:
            supervisord = FakeSupervisord()
            process = make_process(supervisord.options)
            process.pid = shell.pid
            supervisord.options.pidhistory[shell.pid] = process
            self.assertIs(supervised_ancestor(supervisord, shell.pid), process)
            self.assertIs(supervised_ancestor(supervisord, grandchild), process)
            self.assertIsNone(supervised_ancestor(supervisord, os.getpid()))
            self.assertIsNone(supervised_ancestor(supervisord, 2**22 + 1))  # no such PID
        finally:
            os.kill(grandchild, signal.SIGKILL)
            shell.wait()
            shell.stdout.close()


class Lifecycle(unittest.TestCase):
    """The Subprocess patches, on real Subprocess objects with dummy options."""

    @classmethod
    def setUpClass(cls):
        sd_notify._patch_subprocess()

    def setUp(self):
        self.options = DummyOptions()

    def tearDown(self):
        clear_events()

    def starting(self, notify=True, age=0.0, **config):
        process = make_process(self.options, notify=notify, **config)
        process.pid = 4242
        process.state = ProcessStates.STARTING
        process.laststart = time.time() - age
        self.options.pidhistory[4242] = process
        return process

    def test_without_ready_stays_starting_until_startsecs(self):
        process = self.starting(startsecs=5, age=1)
        process.transition()
        self.assertEqual(process.state, ProcessStates.STARTING)
        self.assertEqual(self.options.kills, {})

    def test_without_ready_after_startsecs_is_killed_then_backoff(self):
        process = self.starting(startsecs=5, age=6, startretries=1)
        process.transition()
        self.assertEqual(process.state, ProcessStates.STARTING)
        self.assertEqual(self.options.kills, {4242: signal.SIGKILL})
        process.transition()  # no second kill while waiting for the reap
        self.assertEqual(len(self.options.kills), 1)
        process.finish(4242, wait_status_killed(signal.SIGKILL))
        self.assertEqual(process.state, ProcessStates.BACKOFF)
        self.assertEqual(process.pid, 0)
        self.assertEqual(process.spawnerr, "no READY=1 within 5 seconds (startsecs)")
        self.assertEqual(process.backoff, 1)

    def test_gives_up_with_fatal_after_startretries(self):
        process = self.starting(startsecs=5, age=6, startretries=0)
        process.transition()
        process.finish(4242, wait_status_killed(signal.SIGKILL))
        process.transition()
        self.assertEqual(process.state, ProcessStates.FATAL)

    def test_kills_the_process_group_with_killasgroup(self):
        process = self.starting(startsecs=1, age=2, killasgroup=True)
        process.transition()
        self.assertEqual(self.options.kills, {-4242: signal.SIGKILL})

    def test_startsecs_zero_waits_forever(self):
        process = self.starting(startsecs=0, age=3600)
        process.transition()
        self.assertEqual(process.state, ProcessStates.STARTING)
        self.assertEqual(self.options.kills, {})

    def test_ready_moves_to_running(self):
        process = self.starting(startsecs=60, age=0.5)
        process.backoff = 2
        self.assertTrue(sd_notify.apply_notification(process, {"READY": "1"}, 4242))
        self.assertEqual(process.state, ProcessStates.RUNNING)
        self.assertEqual(process.backoff, 0)

    def test_running_before_startsecs_keeps_its_start_time(self):
        process = self.starting(startsecs=60, age=0.5)
        started = process.laststart
        sd_notify.apply_notification(process, {"READY": "1"}, 4242)
        process.transition()
        self.assertEqual(process.laststart, started)

    def test_death_after_ready_is_an_ordinary_exit_even_before_startsecs(self):
        process = self.starting(startsecs=60, age=0.5)
        started = process.laststart
        sd_notify.apply_notification(process, {"READY": "1"}, 4242)
        process.finish(4242, wait_status_exited(1))
        self.assertEqual(process.state, ProcessStates.EXITED)
        self.assertEqual(process.exitstatus, 1)
        self.assertEqual(process.laststart, started)

    def test_death_before_ready_is_a_failed_start_whatever_its_age(self):
        for age in (0.1, 3):
            process = self.starting(startsecs=2, age=age)
            process.finish(4242, wait_status_exited(0))
            self.assertEqual(process.state, ProcessStates.BACKOFF)
            self.assertEqual(process.spawnerr, "Exited before sending READY=1 (process log may have details)")

    def test_ready_is_ignored_once_the_process_was_killed_for_lateness(self):
        process = self.starting(startsecs=1, age=2)
        process.transition()
        sd_notify.apply_notification(process, {"READY": "1"}, 4242)
        self.assertEqual(process.state, ProcessStates.STARTING)

    def test_programs_not_marked_notify_keep_the_stock_behaviour(self):
        process = self.starting(notify=False, startsecs=1, age=2)
        self.assertFalse(sd_notify.apply_notification(process, {"READY": "1"}, 4242))
        process.transition()
        self.assertEqual(process.state, ProcessStates.RUNNING)
        self.assertEqual(self.options.kills, {})


class Factory(unittest.TestCase):
    def setUp(self):
        self.supervisord = FakeSupervisord()
        self.interface = sd_notify.inject(self.supervisord)

    def tearDown(self):
        sd_notify._state.listener.close()
        sd_notify._state.listener = None
        sd_notify._state.supervisord = None
        clear_events()

    def test_is_idempotent_per_supervisord(self):
        listener = sd_notify._state.listener
        sd_notify.inject(self.supervisord)  # a second HTTP server calls it again
        self.assertIs(sd_notify._state.listener, listener)
        self.assertEqual(self.supervisord.get_process_map(), {listener.fd: listener})

    def test_rebinds_after_a_reload_closed_its_fd(self):
        old = sd_notify._state.listener
        os.close(old.fd)
        reloaded = FakeSupervisord()
        sd_notify.inject(reloaded)
        self.assertIsNot(sd_notify._state.listener, old)
        self.assertEqual(sd_notify._state.listener.name, old.name)
        self.assertIn(sd_notify._state.listener.fd, reloaded.get_process_map())

    def test_ready_datagram_through_the_loop_dispatcher(self):
        process = make_process(self.supervisord.options, startsecs=60)
        process.pid = os.getpid()  # this test process plays the child
        process.state = ProcessStates.STARTING
        process.laststart = time.time()
        self.supervisord.options.pidhistory[process.pid] = process
        self.supervisord.process_groups["kresd0"] = FakeGroup("kresd0", {"kresd0": process})
        listener = sd_notify._state.listener
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"READY=1", sd_notify.socket_address(listener.name))
        self.supervisord.get_process_map()[listener.fd].handle_read_event()
        self.assertEqual(process.state, ProcessStates.RUNNING)

    def test_rpc_notify_needs_a_supervised_notify_pid(self):
        with self.assertRaises(RPCError) as unknown:
            self.interface.notify(4242, "READY=1")
        self.assertEqual(unknown.exception.code, 3)  # BAD_ARGUMENTS
        plain = make_process(self.supervisord.options, notify=False)
        plain.pid = 4343
        self.supervisord.options.pidhistory[4343] = plain
        with self.assertRaises(RPCError) as not_notify:
            self.interface.notify(4343, "READY=1")
        self.assertEqual(not_notify.exception.code, 30)  # FAILED
        self.assertTrue(self.interface.getSocket().startswith("@kres-supervisord-notify-%d-" % os.getpid()))


if __name__ == "__main__":
    unittest.main()
