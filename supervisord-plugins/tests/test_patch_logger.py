import io
import os
import time
import unittest
import xmlrpc.client

from _support import FakeGroup, FakeSupervisord, RealSupervisord, clear_events, make_process  # noqa: I001 (sets sys.path)

from supervisor import loggers
from supervisor.dispatchers import POutputDispatcher
from supervisor.events import ProcessCommunicationStderrEvent, ProcessCommunicationStdoutEvent
from supervisor.states import ProcessStates
from supervisor.tests.base import DummyOptions
from supervisor.xmlrpc import Faults, RPCError, xmlrpc_marshal

from kres_supervisord import patch_logger


class FormatLine(unittest.TestCase):
    def test_prefixes_name_and_pid(self):
        self.assertEqual(patch_logger.format_line("kresd0", 77, b"hello"), (None, "kresd0[77]: hello"))

    def test_takes_a_leading_syslog_priority(self):
        self.assertEqual(patch_logger.format_line("kresd0", 77, b"<3>bad"), (3, "kresd0[77]: bad"))
        self.assertEqual(patch_logger.format_line("kresd0", 77, b"<9>x"), (None, "kresd0[77]: <9>x"))

    def test_drops_carriage_return_and_survives_bad_utf8(self):
        self.assertEqual(patch_logger.format_line("m", 1, b"a\r")[1], "m[1]: a")
        self.assertEqual(patch_logger.format_line("m", 1, b"\xff")[1], "m[1]: \ufffd")

    def test_keeps_percent_signs(self):
        self.assertEqual(patch_logger.format_line("m", 1, b"100%(x)s")[1], "m[1]: 100%(x)s")


class Forwarding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        patch_logger.inject(None)

    def setUp(self):
        self.options = DummyOptions()
        self.stream = io.StringIO()
        logger = loggers.getLogger(loggers.LevelsByName.WARN)  # forwarded lines ignore the level
        loggers.handle_stdout(logger, "%(asctime)s %(levelname)s %(message)s\n")
        logger.handlers[0].stream = self.stream
        self.options.logger = logger
        self.process = make_process(self.options, name="kresd0", notify=False)
        self.process.pid = 77
        self.dispatcher = POutputDispatcher(self.process, ProcessCommunicationStdoutEvent, 5)

    def tearDown(self):
        clear_events()

    def lines(self):
        return [line.split(" ", 2)[2] for line in self.stream.getvalue().splitlines()]

    def test_forwards_complete_lines_and_buffers_the_rest(self):
        self.dispatcher._log(b"one\ntw")
        self.assertEqual(self.lines(), ["kresd0[77]: one"])
        self.dispatcher._log(b"o\nthree\n")
        self.assertEqual(self.lines(), ["kresd0[77]: one", "kresd0[77]: two", "kresd0[77]: three"])

    def test_flushes_a_last_line_without_newline_on_close(self):
        self.dispatcher._log(b"tail")
        self.assertEqual(self.lines(), [])
        self.dispatcher.close()
        self.assertEqual(self.lines(), ["kresd0[77]: tail"])
        self.assertTrue(self.dispatcher.closed)

    def test_leaves_the_handler_format_alone(self):
        self.dispatcher._log(b"x\n")
        self.assertEqual(self.options.logger.handlers[0].fmt, "%(asctime)s %(levelname)s %(message)s\n")
        self.assertRegex(self.stream.getvalue(), r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} kresd0\[77\]: x\n$")

    def test_cuts_overlong_lines(self):
        self.dispatcher._log(b"a" * (patch_logger.MAX_LINE + 10))
        self.assertEqual([len(line) for line in self.lines()], [len("kresd0[77]: ") + patch_logger.MAX_LINE])

    def test_still_emits_process_log_events(self):
        from supervisor import events

        seen = []
        self.process.config.stdout_events_enabled = True
        dispatcher = POutputDispatcher(self.process, ProcessCommunicationStdoutEvent, 5)
        events.subscribe(events.ProcessLogStdoutEvent, seen.append)
        dispatcher._log(b"evt\n")
        self.assertEqual([event.data for event in seen], [b"evt\n"])


class Tail(unittest.TestCase):
    """patch_logger.tail(name): the last lines of a process's most recent run."""

    @classmethod
    def setUpClass(cls):
        patch_logger.inject(None)

    def setUp(self):
        options = DummyOptions()
        logger = loggers.getLogger(loggers.LevelsByName.WARN)
        loggers.handle_stdout(logger, "%(asctime)s %(levelname)s %(message)s\n")
        self.stream = logger.handlers[0].stream = io.StringIO()
        options.logger = logger
        self.supervisord = FakeSupervisord(options)
        self.rpc = patch_logger.inject(self.supervisord)
        self.process = make_process(options, name="kresd3", notify=False)
        self.process.pid = 77
        self.gc = make_process(options, name="cache-gc", notify=False)
        self.supervisord.process_groups["kresd"] = FakeGroup("kresd", {"kresd3": self.process})
        self.supervisord.process_groups["cache-gc"] = FakeGroup("cache-gc", {"cache-gc": self.gc})
        self.stdout = POutputDispatcher(self.process, ProcessCommunicationStdoutEvent, 5)
        self.stderr = POutputDispatcher(self.process, ProcessCommunicationStderrEvent, 7)

    def tearDown(self):
        clear_events()

    def spawn(self, process, pid):
        process.config.options.forkpid = pid
        return process.spawn()

    def exit(self, process):
        # what Subprocess.finish() leaves behind
        process.pid = 0
        process.state = ProcessStates.EXITED

    def test_inject_returns_the_namespace(self):
        self.assertIsInstance(self.rpc, patch_logger.PatchLoggerRPC)
        self.assertIsInstance(patch_logger.inject(None), patch_logger.PatchLoggerRPC)

    def test_stdout_and_stderr_interleaved_in_arrival_order(self):
        self.stdout._log(b"out one\nout ")
        self.stderr._log(b"err one\n")
        self.stdout._log(b"two\n")
        self.assertEqual(
            self.rpc.tail("kresd:kresd3"), {"pid": 77, "lines": ["out one", "err one", "out two"]}
        )

    def test_keeps_the_last_50_lines(self):
        self.stderr._log(b"".join(b"line %d\n" % i for i in range(60)))
        self.assertEqual(self.rpc.tail("kresd:kresd3")["lines"], ["line %d" % i for i in range(10, 60)])

    def test_decodes_like_the_forwarded_lines_without_prefix(self):
        self.stderr._log(b"<3>error\r\n\xff\n100%(x)s\n")
        self.assertEqual(self.rpc.tail("kresd:kresd3")["lines"], ["error", "\ufffd", "100%(x)s"])
        self.assertIn("kresd3[77]: error\n", self.stream.getvalue())

    def test_flushes_a_last_line_without_newline_on_close(self):
        self.stderr._log(b"[system] error while loading config: x.lua:3: oops")
        self.assertEqual(self.rpc.tail("kresd:kresd3")["lines"], [])
        self.stderr.close()
        self.assertEqual(
            self.rpc.tail("kresd:kresd3")["lines"], ["[system] error while loading config: x.lua:3: oops"]
        )

    def test_flushes_a_last_line_without_newline_when_the_reaped_process_is_drained(self):
        # Subprocess.finish() drains once and closes the pipes; when that read
        # still got data, the dispatcher never saw the end of file
        self.process.dispatchers = {7: self.stderr}  # DummyOptions.readfd answers every fd alike
        self.stderr._log(b"one\nlast")
        self.process.config.options.readfd_result = b" words"
        self.process.drain()
        self.assertFalse(self.stderr.closed)
        self.assertEqual(self.rpc.tail("kresd:kresd3")["lines"], ["one", "last words"])
        self.assertIn("kresd3[77]: last words\n", self.stream.getvalue())
        self.stderr.close()  # nothing left to flush twice
        self.assertEqual(self.rpc.tail("kresd:kresd3")["lines"], ["one", "last words"])

    def test_cuts_overlong_lines(self):
        self.stderr._log(b"a" * (patch_logger.MAX_LINE + 10))
        self.stderr.close()
        self.assertEqual([len(line) for line in self.rpc.tail("kresd:kresd3")["lines"]], [patch_logger.MAX_LINE, 10])

    def test_lines_are_valid_xml_rpc_strings(self):
        self.stderr._log(b"tab\there\x1b[31mred\x00nul\x7f\r\x0b\xef\xbf\xbe\n\xc3\xa9\xf0\x9f\x98\x80 &<>\n")
        result = self.rpc.tail("kresd:kresd3")
        self.assertEqual(
            result["lines"], ["tab\there\ufffd[31mred\ufffdnul\ufffd\ufffd\ufffd\ufffd", "\u00e9\U0001f600 &<>"]
        )
        body = xmlrpc_marshal(result)  # what supervisord sends back
        (decoded,), _method = xmlrpc.client.loads(body)
        self.assertEqual(decoded, result)

    def test_bare_name_when_group_and_process_names_match(self):
        self.gc.pid = 12
        POutputDispatcher(self.gc, ProcessCommunicationStderrEvent, 9)._log(b"gc says hi\n")
        self.assertEqual(self.rpc.tail("cache-gc"), {"pid": 12, "lines": ["gc says hi"]})
        self.assertEqual(self.rpc.tail("cache-gc:cache-gc"), {"pid": 12, "lines": ["gc says hi"]})

    def test_unknown_names_are_bad_name_faults(self):
        for name in ("kresd3", "kresd:", "kresd:*", "kresd:kresd4", "nope", "nope:kresd3", "", None, 3):
            with self.subTest(name=name), self.assertRaises(RPCError) as raised:
                self.rpc.tail(name)
            self.assertEqual(raised.exception.code, Faults.BAD_NAME)
        with self.assertRaises(RPCError):
            patch_logger.inject(None).tail("kresd:kresd3")

    def test_a_process_that_printed_nothing(self):
        self.assertEqual(self.rpc.tail("cache-gc"), {"pid": 0, "lines": []})
        self.gc.pid = 5
        self.assertEqual(self.rpc.tail("cache-gc"), {"pid": 5, "lines": []})

    def test_survives_the_exit_and_is_reset_when_the_process_is_spawned_again(self):
        self.process.pid = 0
        self.process.state = ProcessStates.STOPPED
        self.assertEqual(self.spawn(self.process, 1001), 1001)
        self.assertEqual(self.rpc.tail("kresd:kresd3"), {"pid": 1001, "lines": []})
        stderr = POutputDispatcher(self.process, ProcessCommunicationStderrEvent, 7)
        stderr._log(b"first run\nlua error")
        stderr.close()
        self.exit(self.process)
        self.assertEqual(self.rpc.tail("kresd:kresd3"), {"pid": 1001, "lines": ["first run", "lua error"]})

        self.spawn(self.process, 1002)  # nothing printed yet: the old run is gone anyway
        self.assertEqual(self.rpc.tail("kresd:kresd3"), {"pid": 1002, "lines": []})
        POutputDispatcher(self.process, ProcessCommunicationStdoutEvent, 5)._log(b"second run\n")
        self.assertEqual(self.rpc.tail("kresd:kresd3"), {"pid": 1002, "lines": ["second run"]})

    def test_spawn_while_running_keeps_the_run(self):
        self.stderr._log(b"running\n")
        self.process.state = ProcessStates.RUNNING
        self.assertIsNone(self.spawn(self.process, 1003))  # stock: "already running"
        self.assertEqual(self.rpc.tail("kresd:kresd3"), {"pid": 77, "lines": ["running"]})

    def test_a_start_that_fails_before_fork_is_an_empty_run(self):
        self.stderr._log(b"old\n")
        self.exit(self.process)
        self.process.config.command = "/bad/filename"  # DummyOptions: NotFound
        self.assertIsNone(self.spawn(self.process, 1004))
        self.assertEqual(self.process.get_state(), ProcessStates.BACKOFF)
        self.assertEqual(self.rpc.tail("kresd:kresd3"), {"pid": 0, "lines": []})

    def test_a_new_pid_starts_a_new_run_even_without_the_spawn_hook(self):
        self.stderr._log(b"pid 77\n")
        self.process.pid = 78
        self.assertEqual(self.rpc.tail("kresd:kresd3"), {"pid": 78, "lines": []})
        self.stderr._log(b"pid 78\n")
        self.assertEqual(self.rpc.tail("kresd:kresd3"), {"pid": 78, "lines": ["pid 78"]})


SUPERVISORD_CONF = """
[rpcinterface:sd_notify]
supervisor.rpcinterface_factory = kres_supervisord.sd_notify:inject

[program:canary]
process_name = %(program_name)s%(process_num)d
numprocs = 2
command = /bin/sh {dir}/canary.sh %(process_num)d
directory = {dir}
autostart = false
autorestart = false
startsecs = 0
stdout_logfile = NONE
stderr_logfile = NONE

; like a kresd worker: dies before READY=1, so sd_notify's finish() handles it
[program:notify-canary]
command = /bin/sh {dir}/canary.sh notify
directory = {dir}
environment = X-SUPERVISORD-TYPE="notify"
autostart = false
autorestart = false
startsecs = 10
startretries = 0
stdout_logfile = NONE
stderr_logfile = NONE

[program:sleeper]
command = /bin/sh {dir}/sleeper.sh
autostart = false
autorestart = false
startsecs = 0
stopwaitsecs = 5
stdout_logfile = NONE
stderr_logfile = NONE
"""

# prints two lines to stderr (the second one without newline) and fails;
# every run numbers itself so that the runs can be told apart
CANARY_SH = """n=$(cat "count-$1" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "count-$1"
echo "run $n: pid $$" >&2
printf 'run %s: error: lua error' "$n" >&2
exit 1
"""

SLEEPER_SH = """echo "sleeper pid $$"
echo "sleeper up" >&2
exec sleep 30
"""


class ThroughSupervisord(RealSupervisord):
    """patch_logger.tail over XML-RPC of a real supervisord."""

    prefix = "kres-patch-logger-"
    conf = SUPERVISORD_CONF

    @classmethod
    def prepare(cls):
        for name, text in (("canary.sh", CANARY_SH), ("sleeper.sh", SLEEPER_SH)):
            with open(os.path.join(cls.dir, name), "w") as script:
                script.write(text)

    def tail_with(self, name, count):
        tail = self.rpc.patch_logger.tail(name)
        return tail if len(tail["lines"]) == count else None

    def state(self, name):
        return self.rpc.supervisor.getProcessInfo(name)["statename"]

    def check_failed_runs(self, name, short_name, final_state):
        self.assertEqual(self.rpc.patch_logger.tail(name), {"pid": 0, "lines": []})
        pids = []
        for run in (1, 2):
            self.rpc.supervisor.startProcess(name, False)
            self.wait_for("run %d of %s to fail" % (run, name), lambda: self.state(name) == final_state)
            tail = self.rpc.patch_logger.tail(name)
            pid = tail["pid"]
            self.assertEqual(tail["lines"], ["run %d: pid %d" % (run, pid), "run %d: error: lua error" % run])
            self.assertIn("%s[%d]: run %d: error: lua error\n" % (short_name, pid, run), self.log())
            pids.append(pid)
            time.sleep(0.2)  # a failed run stays readable
            self.assertEqual(self.rpc.patch_logger.tail(name), tail)
        self.assertNotEqual(pids[0], pids[1])

    def test_a_failed_run_keeps_its_lines_until_the_next_run(self):
        self.check_failed_runs("canary:canary0", "canary0", "EXITED")
        self.assertEqual(self.rpc.supervisor.getProcessInfo("canary:canary0")["exitstatus"], 1)
        self.assertEqual(self.rpc.patch_logger.tail("canary:canary1"), {"pid": 0, "lines": []})

    def test_a_notify_program_that_dies_before_ready(self):
        self.check_failed_runs("notify-canary", "notify-canary", "FATAL")

    def test_a_killed_process_keeps_its_lines(self):
        self.rpc.supervisor.startProcess("sleeper", True)
        tail = self.wait_for("sleeper output", lambda: self.tail_with("sleeper", 2))
        pid = self.rpc.supervisor.getProcessInfo("sleeper")["pid"]
        self.assertEqual(tail["pid"], pid)
        # stdout and stderr are two pipes: which one supervisord reads first is its choice
        self.assertCountEqual(tail["lines"], ["sleeper pid %d" % pid, "sleeper up"])
        self.rpc.supervisor.stopProcess("sleeper", True)
        self.assertEqual(self.state("sleeper"), "STOPPED")
        self.assertEqual(self.rpc.patch_logger.tail("sleeper"), tail)

    def test_is_listed_with_its_signature(self):
        self.assertIn("patch_logger.tail", self.rpc.system.listMethods())
        self.assertEqual(self.rpc.system.methodSignature("patch_logger.tail"), ["struct", "string"])

    def test_unknown_names_are_bad_name_faults(self):
        for name in ("nope", "canary", "canary:*", "canary:canary9"):
            with self.subTest(name=name), self.assertRaises(xmlrpc.client.Fault) as raised:
                self.rpc.patch_logger.tail(name)
            self.assertEqual(raised.exception.faultCode, Faults.BAD_NAME)


if __name__ == "__main__":
    unittest.main()
