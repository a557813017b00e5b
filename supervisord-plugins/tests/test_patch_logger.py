import io
import unittest

from _support import clear_events, make_process  # noqa: I001 (sets sys.path)

from supervisor import loggers
from supervisor.dispatchers import POutputDispatcher
from supervisor.events import ProcessCommunicationStdoutEvent
from supervisor.tests.base import DummyOptions

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


if __name__ == "__main__":
    unittest.main()
