import errno
import json
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import unittest
import xmlrpc.client

from _support import FakeGroup, FakeSupervisord, RealSupervisord, clear_events  # noqa: I001 (sets sys.path)

from supervisor.process import Subprocess
from supervisor.states import ProcessStates
from supervisor.tests.base import DummyOptions, DummyPConfig
from supervisor.xmlrpc import Faults, RPCError

from kres_supervisord import listen_fds
from kres_supervisord.listen_fds import Endpoint, SpecError


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A port free for both UDP and TCP on host right now."""
    for _ in range(50):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
            return port
    raise AssertionError("no free port")


def write_spec(path, endpoints):
    with open(path, "w") as spec:
        json.dump(endpoints, spec)


def close_all_held():
    listen_fds.prune_held(set())


def inode(fd):
    return os.fstat(fd).st_ino


class ParseSpec(unittest.TestCase):
    def error(self, text):
        with self.assertRaises(SpecError) as raised:
            listen_fds.parse_spec(text)
        return str(raised.exception)

    def test_full_and_default_fields(self):
        spec = json.dumps(
            [
                {"addr": "127.0.0.1", "port": 53, "proto": "udp"},
                {"addr": "127.0.0.1", "port": 53, "proto": "tcp", "kind": "dns", "freebind": False},
                {"addr": "::1", "port": 853, "proto": "tcp", "kind": "tls", "freebind": True},
                {"addr": "192.0.2.1", "port": 443, "proto": "tcp", "kind": "doh2"},
            ]
        )
        self.assertEqual(
            listen_fds.parse_spec(spec),
            [
                Endpoint("127.0.0.1", 53, "udp", "dns", False),
                Endpoint("127.0.0.1", 53, "tcp", "dns", False),
                Endpoint("::1", 853, "tcp", "tls", True),
                Endpoint("192.0.2.1", 443, "tcp", "doh2", False),
            ],
        )

    def test_empty_list_and_bytes(self):
        self.assertEqual(listen_fds.parse_spec(b"[]"), [])
        self.assertEqual(listen_fds.parse_spec(b' [ ] \n'), [])

    def test_addresses_are_normalized(self):
        spec = json.dumps(
            [{"addr": "0:0::0001", "port": 53, "proto": "udp"}, {"addr": "FE80::1%lo", "port": 5, "proto": "udp"}]
        )
        self.assertEqual([e.addr for e in listen_fds.parse_spec(spec)], ["::1", "fe80::1%lo"])

    def test_the_key_ignores_the_kind(self):
        a, b = listen_fds.parse_spec(
            '[{"addr": "::1", "port": 853, "proto": "tcp", "kind": "tls"},'
            ' {"addr": "::1", "port": 853, "proto": "tcp", "freebind": true}]'
        )
        self.assertEqual(a.key, ("::1", 853, "tcp", False))
        self.assertEqual(b.key, ("::1", 853, "tcp", True))
        self.assertEqual(listen_fds.key_name(a.key), "::1@853/tcp")
        self.assertEqual(listen_fds.key_name(b.key), "::1@853/tcp/freebind")

    def test_errors(self):
        ok = {"addr": "127.0.0.1", "port": 53, "proto": "udp"}
        cases = [
            ("", "not valid JSON"),
            ("{", "not valid JSON"),
            ('{"addr": "127.0.0.1"}', "must be a JSON list of endpoints"),
            ("[1]", "[0]: must be an object, not 1"),
            (json.dumps([ok, dict(ok, port=54, color="red")]), '[1]: unknown field "color"'),
            (json.dumps([{"port": 53, "proto": "udp"}]), '[0]: missing "addr"'),
            (json.dumps([dict(ok, addr="localhost")]), '[0].addr: not an IPv4 or IPv6 address: "localhost"'),
            (json.dumps([dict(ok, addr="127.0.0.1@53")]), "[0].addr: not an IPv4 or IPv6 address"),
            (json.dumps([dict(ok, addr=None)]), "[0].addr: must be an IP address string, not null"),
            (json.dumps([dict(ok, port=0)]), "[0].port: must be an integer from 1 to 65535, not 0"),
            (json.dumps([dict(ok, port=65536)]), "[0].port: must be an integer from 1 to 65535, not 65536"),
            (json.dumps([dict(ok, port="53")]), '[0].port: must be an integer from 1 to 65535, not "53"'),
            (json.dumps([dict(ok, port=True)]), "[0].port: must be an integer from 1 to 65535, not true"),
            (json.dumps([dict(ok, port=53.0)]), "[0].port: must be an integer from 1 to 65535, not 53.0"),
            (json.dumps([dict(ok, proto="sctp")]), '[0].proto: must be "udp" or "tcp", not "sctp"'),
            (json.dumps([dict(ok, kind="xdp")]), '[0].kind: must be one of "dns", "tls", "doh2", not "xdp"'),
            (json.dumps([dict(ok, kind="tls")]), '[0].kind: "tls" needs "proto": "tcp"'),
            (json.dumps([dict(ok, kind="doh2")]), '[0].kind: "doh2" needs "proto": "tcp"'),
            (json.dumps([dict(ok, freebind="yes")]), '[0].freebind: must be true or false, not "yes"'),
            (json.dumps([ok, dict(ok, kind="dns")]), "[1]: 127.0.0.1@53/udp is already listed as [0]"),
        ]
        for text, message in cases:
            with self.subTest(text=text):
                self.assertIn(message, self.error(text))


class ReadSpec(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kres-listen-spec-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_a_missing_file_names_nothing(self):
        self.assertEqual(listen_fds.read_spec(os.path.join(self.dir, "none.listen")), [])

    def test_reads_the_file(self):
        path = os.path.join(self.dir, "k.listen")
        write_spec(path, [{"addr": "127.0.0.1", "port": 53, "proto": "tcp", "kind": "tls"}])
        self.assertEqual(listen_fds.read_spec(path), [Endpoint("127.0.0.1", 53, "tcp", "tls", False)])

    def test_errors_name_the_file(self):
        path = os.path.join(self.dir, "k.listen")
        with open(path, "w") as spec:
            spec.write('[{"addr": "127.0.0.1", "port": 0, "proto": "udp"}]')
        with self.assertRaises(SpecError) as raised:
            listen_fds.read_spec(path)
        self.assertEqual(
            str(raised.exception), "bad listen spec %s: [0].port: must be an integer from 1 to 65535, not 0" % path
        )
        with self.assertRaises(SpecError) as raised:
            listen_fds.read_spec(self.dir)  # a directory
        self.assertEqual(str(raised.exception), "cannot read listen spec %s: Is a directory" % self.dir)


class FdArgs(unittest.TestCase):
    def test_appends_one_s_per_endpoint_without_dns(self):
        endpoints = [
            Endpoint("127.0.0.1", 53, "udp", "dns", False),
            Endpoint("127.0.0.1", 53, "tcp", "dns", False),
            Endpoint("127.0.0.1", 853, "tcp", "tls", False),
            Endpoint("127.0.0.1", 443, "tcp", "doh2", False),
        ]
        self.assertEqual(listen_fds.fd_args(endpoints), ["-S", "3", "-S", "4", "-S", "5:tls", "-S", "6:doh2"])
        self.assertEqual(listen_fds.fd_args([]), [])


class Sockets(unittest.TestCase):
    """open_socket(): the options of the sockets supervisord holds."""

    def setUp(self):
        self.minfds = 200

    def open(self, addr, proto, freebind=False):
        held = listen_fds.open_socket((addr, free_port(), proto, freebind), self.minfds)
        self.addCleanup(held.close)
        return held

    def opt(self, held, level, name):
        return held.sock.getsockopt(level, name)

    def test_udp(self):
        held = self.open("127.0.0.1", "udp")
        self.assertGreaterEqual(held.fd, self.minfds)
        self.assertFalse(os.get_inheritable(held.fd))
        self.assertEqual(held.sock.getsockname(), ("127.0.0.1", held.key[1]))
        self.assertEqual(self.opt(held, socket.SOL_SOCKET, socket.SO_TYPE), socket.SOCK_DGRAM)
        self.assertEqual(self.opt(held, socket.SOL_SOCKET, socket.SO_REUSEADDR), 0)
        self.assertEqual(self.opt(held, socket.SOL_SOCKET, socket.SO_REUSEPORT), 0)

    def test_tcp_listens(self):
        held = self.open("127.0.0.1", "tcp")
        self.assertGreaterEqual(held.fd, self.minfds)
        self.assertEqual(self.opt(held, socket.SOL_SOCKET, socket.SO_TYPE), socket.SOCK_STREAM)
        self.assertEqual(self.opt(held, socket.SOL_SOCKET, socket.SO_ACCEPTCONN), 1)
        self.assertEqual(self.opt(held, socket.SOL_SOCKET, socket.SO_REUSEADDR), 1)
        self.assertEqual(self.opt(held, socket.SOL_SOCKET, socket.SO_REUSEPORT), 0)
        with socket.create_connection(("127.0.0.1", held.key[1]), timeout=2):
            pass  # completes in the backlog, nobody accepts

    def test_ipv6_only_and_freebind(self):
        held = self.open("::1", "udp", freebind=True)
        self.assertEqual(held.sock.family, socket.AF_INET6)
        self.assertEqual(self.opt(held, socket.IPPROTO_IPV6, socket.IPV6_V6ONLY), 1)
        self.assertEqual(self.opt(held, socket.IPPROTO_IPV6, listen_fds.IPV6_FREEBIND), 1)
        held4 = self.open("127.0.0.1", "tcp", freebind=True)
        self.assertEqual(self.opt(held4, socket.IPPROTO_IP, listen_fds.IP_FREEBIND), 1)

    def test_freebind_binds_an_address_the_host_does_not_have(self):
        held = self.open("192.0.2.77", "udp", freebind=True)
        self.assertEqual(held.sock.getsockname()[0], "192.0.2.77")
        with self.assertRaises(OSError) as raised:
            listen_fds.open_socket(("192.0.2.78", 5300, "udp", False), self.minfds)
        self.assertEqual(
            raised.exception.strerror, "cannot listen on 192.0.2.78@5300 (udp): Cannot assign requested address"
        )

    def test_a_busy_address_fails_with_a_message(self):
        port = free_port()
        cases = (("udp", socket.SOCK_DGRAM, ()), ("tcp", socket.SOCK_STREAM, (socket.SO_REUSEADDR,)))
        for proto, kind, options in cases:
            with self.subTest(proto=proto), socket.socket(socket.AF_INET, kind) as other:
                for option in options:
                    other.setsockopt(socket.SOL_SOCKET, option, 1)
                other.bind(("127.0.0.1", port))
                if kind == socket.SOCK_STREAM:
                    other.listen(1)
                with self.assertRaises(listen_fds.ListenError) as raised:
                    listen_fds.open_socket(("127.0.0.1", port, proto, False), self.minfds)
                self.assertEqual(raised.exception.errno, errno.EADDRINUSE)
                self.assertEqual(
                    raised.exception.strerror,
                    "cannot listen on 127.0.0.1@%d (%s): Address already in use" % (port, proto),
                )

    def test_a_stray_bind_fails_even_with_so_reuseport(self):
        held = self.open("127.0.0.1", "udp")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stray:
            stray.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            with self.assertRaises(OSError) as raised:
                stray.bind(("127.0.0.1", held.key[1]))
            self.assertEqual(raised.exception.errno, errno.EADDRINUSE)

    def test_raises_the_soft_nofile_limit_up_to_the_hard_one(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 600:
            self.skipTest("hard RLIMIT_NOFILE too low")
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
        self.minfds = 512  # supervisord guarantees soft >= minfds, no more
        held = self.open("127.0.0.1", "udp")
        self.assertGreaterEqual(held.fd, 512)
        self.assertGreater(resource.getrlimit(resource.RLIMIT_NOFILE)[0], held.fd)
        if hard != resource.RLIM_INFINITY:
            with self.assertRaises(listen_fds.ListenError) as raised:
                listen_fds.open_socket(("127.0.0.1", free_port(), "udp", False), hard)
            self.assertRegex(
                raised.exception.strerror,
                r"^cannot listen on 127\.0\.0\.1@\d+ \(udp\): the hard RLIMIT_NOFILE \(%d\) leaves no room" % hard,
            )


class SpawnHooks(unittest.TestCase):
    """get_execv_args / _prepare_child_fds on supervisor's dummies (fork() returns 0: the child path)."""

    @classmethod
    def setUpClass(cls):
        listen_fds.inject(None)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kres-listen-fds-")
        self.options = DummyOptions()
        self.options.minfds = 64
        self.port = free_port()

    def tearDown(self):
        close_all_held()
        clear_events()
        shutil.rmtree(self.dir, ignore_errors=True)

    def process(self, name="kresd0", spec=None, environment=None):
        env = dict(environment or {})
        if spec is not None:
            env["KRES_LISTEN_SPEC"] = os.path.join(self.dir, name + ".listen")
            write_spec(env["KRES_LISTEN_SPEC"], spec)
        config = DummyPConfig(self.options, name, "/bin/true --flag", environment=env or None)
        return Subprocess(config)

    def spawn_child(self, process):
        """What the forked child does: returns (argv, {held fd: target fd})."""
        self.options.forkpid = 0
        self.options.duped = {}
        self.options.execv_args = None
        process.spawn()
        if self.options.execv_args is None:
            return None, None
        pipes = set(process.pipes.values()) if process.pipes else set()
        duped = {held: target for held, target in self.options.duped.items() if held not in pipes}
        return self.options.execv_args[1], duped

    def endpoints(self, *protos_kinds):
        return [{"addr": "127.0.0.1", "port": self.port, "proto": proto, "kind": kind} for proto, kind in protos_kinds]

    def held_fd(self, proto, port=None):
        return listen_fds._state.held[("127.0.0.1", port or self.port, proto, False)].fd

    def test_not_opted_in_keeps_argv(self):
        for process in (self.process("gc"), self.process("gc", environment={"OTHER": "1"})):
            argv, duped = self.spawn_child(process)
            self.assertEqual(argv, ["/bin/true", "--flag"])
            self.assertEqual(duped, {})
        self.assertEqual(listen_fds._state.held, {})

    def test_missing_or_empty_spec_keeps_argv(self):
        process = self.process(spec=[])
        self.assertEqual(self.spawn_child(process), (["/bin/true", "--flag"], {}))
        os.unlink(process.config.environment["KRES_LISTEN_SPEC"])
        process.state = ProcessStates.EXITED
        self.assertEqual(self.spawn_child(process), (["/bin/true", "--flag"], {}))

    def test_child_gets_the_sockets_at_3_4_and_s_arguments(self):
        process = self.process(spec=self.endpoints(("udp", "dns"), ("tcp", "tls")))
        argv, duped = self.spawn_child(process)
        self.assertEqual(argv, ["/bin/true", "--flag", "-S", "3", "-S", "4:tls"])
        self.assertEqual(duped, {self.held_fd("udp"): 3, self.held_fd("tcp"): 4})
        for fd in duped:
            self.assertGreaterEqual(fd, self.options.minfds)
        # the stock part ran first: fds 3..minfds-1 closed, then the sockets put there
        self.assertEqual(self.options.fds_closed[-1], self.options.minfds - 1)

    def test_processes_share_the_sockets_whatever_the_kind(self):
        first = self.process("kresd0", spec=self.endpoints(("udp", "dns"), ("tcp", "dns")))
        second = self.process("kresd1", spec=self.endpoints(("tcp", "tls"), ("udp", "dns")))
        _argv, duped0 = self.spawn_child(first)
        argv1, duped1 = self.spawn_child(second)
        self.assertEqual(argv1[-4:], ["-S", "3:tls", "-S", "4"])
        udp, tcp = self.held_fd("udp"), self.held_fd("tcp")
        self.assertEqual(duped0, {udp: 3, tcp: 4})
        self.assertEqual(duped1, {tcp: 3, udp: 4})
        self.assertEqual(len(listen_fds._state.held), 2)

    def test_respawn_reuses_the_socket(self):
        process = self.process(spec=self.endpoints(("udp", "dns")))
        _argv, duped = self.spawn_child(process)
        identity = os.fstat(self.held_fd("udp"))
        process.state = ProcessStates.EXITED
        _argv, again = self.spawn_child(process)
        self.assertEqual(again, duped)
        self.assertEqual(os.fstat(self.held_fd("udp")).st_ino, identity.st_ino)

    def test_parent_records_the_pairs_on_the_process(self):
        process = self.process(spec=self.endpoints(("udp", "dns"), ("tcp", "dns")))
        self.options.forkpid = 4242
        self.assertEqual(process.spawn(), 4242)
        self.assertEqual(
            getattr(process, listen_fds._FDS_ATTR), ((self.held_fd("udp"), 3), (self.held_fd("tcp"), 4))
        )

    def test_the_start_precheck_binds_nothing(self):
        # supervisor.startProcess calls get_execv_args() before spawn() to test the command
        process = self.process(spec=self.endpoints(("udp", "dns")))
        self.assertEqual(process.get_execv_args(), ("/bin/true", ["/bin/true", "--flag"]))
        self.assertEqual(listen_fds._state.held, {})
        write_spec(process.config.environment["KRES_LISTEN_SPEC"], "not a list")
        self.assertEqual(process.get_execv_args(), ("/bin/true", ["/bin/true", "--flag"]))

    def assert_spawn_fails(self, process, spawnerr):
        self.options.forkpid = 4242
        self.options.execve_called = False
        self.assertIsNone(process.spawn())
        self.assertEqual(process.state, ProcessStates.BACKOFF)
        self.assertEqual(process.spawnerr, spawnerr)
        self.assertFalse(self.options.execve_called)

    def test_a_busy_address_fails_the_spawn(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind(("127.0.0.1", self.port))
            process = self.process(spec=self.endpoints(("tcp", "dns"), ("udp", "dns")))
            self.assert_spawn_fails(
                process, "cannot listen on 127.0.0.1@%d (udp): Address already in use" % self.port
            )
        # the TCP socket bound for this failed spawn is not kept
        self.assertEqual(listen_fds._state.held, {})

    def test_a_failed_spawn_keeps_sockets_held_before(self):
        self.spawn_child(self.process("kresd0", spec=self.endpoints(("tcp", "dns"))))
        tcp = self.held_fd("tcp")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind(("127.0.0.1", self.port))
            process = self.process("kresd1", spec=self.endpoints(("tcp", "dns"), ("udp", "dns")))
            self.assert_spawn_fails(process, "cannot listen on 127.0.0.1@%d (udp): Address already in use" % self.port)
        self.assertEqual(list(listen_fds._state.held), [("127.0.0.1", self.port, "tcp", False)])
        self.assertEqual(self.held_fd("tcp"), tcp)

    def test_a_bad_spec_fails_the_spawn(self):
        process = self.process(spec=[{"addr": "127.0.0.1", "port": self.port, "proto": "quic"}])
        path = process.config.environment["KRES_LISTEN_SPEC"]
        self.assert_spawn_fails(process, 'bad listen spec %s: [0].proto: must be "udp" or "tcp", not "quic"' % path)

    def test_too_many_endpoints_for_minfds(self):
        self.options.minfds = 5  # room for fds 3 and 4
        process = self.process(spec=self.endpoints(("udp", "dns"), ("tcp", "dns")))
        self.assertEqual(self.spawn_child(process)[0][-4:], ["-S", "3", "-S", "4"])
        close_all_held()
        third = {"addr": "127.0.0.1", "port": free_port(), "proto": "udp"}
        process = self.process("kresd1", spec=self.endpoints(("udp", "dns"), ("tcp", "dns")) + [third])
        path = process.config.environment["KRES_LISTEN_SPEC"]
        self.assert_spawn_fails(
            process, "listen spec %s: 3 endpoints do not fit below minfds (5), raise minfds in [supervisord]" % path
        )
        self.assertEqual(listen_fds._state.held, {})

    def test_a_socket_closed_behind_our_back_is_bound_again(self):
        process = self.process(spec=self.endpoints(("udp", "dns")))
        self.spawn_child(process)
        lost = self.held_fd("udp")
        lost_inode = inode(lost)
        os.close(lost)  # what cleanup_fds does to fds below a raised minfds on reload
        process.state = ProcessStates.EXITED
        _argv, duped = self.spawn_child(process)
        fresh = self.held_fd("udp")
        self.assertEqual(duped, {fresh: 3})
        self.assertNotEqual(inode(fresh), lost_inode)

    def test_a_held_fd_below_a_raised_minfds_moves_up(self):
        process = self.process(spec=self.endpoints(("udp", "dns")))
        self.spawn_child(process)
        old_inode = inode(self.held_fd("udp"))
        self.options.minfds = self.held_fd("udp") + 10
        process.state = ProcessStates.EXITED
        _argv, duped = self.spawn_child(process)
        (fd,) = duped
        self.assertGreaterEqual(fd, self.options.minfds)
        self.assertEqual(inode(fd), old_inode)

    def test_dup2_failure_in_the_child_is_reported_on_stderr(self):
        process = self.process(spec=self.endpoints(("udp", "dns")))
        self.options.forkpid = 0

        def failing_dup2(frm, to):
            if frm >= self.options.minfds:
                raise OSError(errno.EBADF, "Bad file descriptor")

        self.options.dup2 = failing_dup2
        with self.assertRaises(OSError):  # a real child _exit()s in _spawn_as_child's finally
            process.spawn()
        self.assertFalse(self.options.execve_called)
        self.assertEqual(self.options._exitcode, 127)
        self.assertIn("supervisor: cannot pass listening socket fd", self.options.written[2])

    def test_inject_is_idempotent(self):
        hooked = (Subprocess.get_execv_args, Subprocess._prepare_child_fds, Subprocess.spawn)
        listen_fds.inject(None)
        listen_fds.inject(FakeSupervisord(self.options))
        self.assertEqual((Subprocess.get_execv_args, Subprocess._prepare_child_fds, Subprocess.spawn), hooked)
        self.assertEqual(listen_fds._originals["get_execv_args"].__module__, "supervisor.process")


class PruneAndList(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kres-listen-prune-")
        self.options = DummyOptions()
        self.options.minfds = 64
        self.supervisord = FakeSupervisord(self.options)
        self.rpc = listen_fds.inject(self.supervisord)
        self.ports = [free_port(), free_port()]
        self.processes = {}
        for name in ("kresd0", "kresd1"):
            env = {"KRES_LISTEN_SPEC": os.path.join(self.dir, name + ".listen")}
            self.processes[name] = Subprocess(DummyPConfig(self.options, name, "/bin/true", environment=env))
        gc = Subprocess(DummyPConfig(self.options, "cache-gc", "/bin/true"))
        self.supervisord.process_groups["kresd"] = FakeGroup("kresd", self.processes)
        self.supervisord.process_groups["cache-gc"] = FakeGroup("cache-gc", {"cache-gc": gc})

    def tearDown(self):
        close_all_held()
        clear_events()
        shutil.rmtree(self.dir, ignore_errors=True)

    def spec(self, name, *ports, proto="udp"):
        write_spec(
            self.processes[name].config.environment["KRES_LISTEN_SPEC"],
            [{"addr": "127.0.0.1", "port": port, "proto": proto} for port in ports],
        )

    def spawn_all(self):
        self.options.forkpid = 4242
        for process in self.processes.values():
            process.spawn()
            self.assertIsNone(process.spawnerr)

    def test_list(self):
        self.assertEqual(self.rpc.list(), [])
        self.spec("kresd0", self.ports[0])
        self.spec("kresd1", self.ports[0], self.ports[1])
        self.spawn_all()
        listed = self.rpc.list()
        held = listen_fds._state.held
        self.assertEqual(
            listed,
            [
                {
                    "addr": "127.0.0.1",
                    "port": port,
                    "proto": "udp",
                    "freebind": False,
                    "fd": held[("127.0.0.1", port, "udp", False)].fd,
                }
                for port in self.ports
            ],
        )
        xmlrpc.client.dumps((listed,))  # marshallable

    def test_prune_closes_what_no_spec_names(self):
        self.spec("kresd0", self.ports[0])
        self.spec("kresd1", self.ports[0], self.ports[1])
        self.spawn_all()
        self.assertEqual(self.rpc.prune(), [])
        fd = listen_fds._state.held[("127.0.0.1", self.ports[1], "udp", False)].fd
        self.spec("kresd1", self.ports[0])
        self.assertEqual(self.rpc.prune(), ["127.0.0.1@%d/udp" % self.ports[1]])
        self.assertEqual([entry["port"] for entry in self.rpc.list()], [self.ports[0]])
        with self.assertRaises(OSError):
            os.fstat(fd)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
            again.bind(("127.0.0.1", self.ports[1]))  # free again

    def test_a_missing_spec_names_nothing(self):
        self.spec("kresd0", self.ports[0])
        self.spawn_all()
        os.unlink(self.processes["kresd0"].config.environment["KRES_LISTEN_SPEC"])
        self.assertEqual(self.rpc.prune(), ["127.0.0.1@%d/udp" % self.ports[0]])
        self.assertEqual(self.rpc.list(), [])

    def test_a_bad_spec_closes_nothing(self):
        self.spec("kresd0", self.ports[0])
        self.spawn_all()
        path = self.processes["kresd1"].config.environment["KRES_LISTEN_SPEC"]
        with open(path, "w") as spec:
            spec.write("[")
        with self.assertRaises(RPCError) as raised:
            self.rpc.prune()
        self.assertEqual(raised.exception.code, Faults.FAILED)
        self.assertIn("bad listen spec %s: not valid JSON" % path, raised.exception.text)
        self.assertIn("nothing was closed", raised.exception.text)
        self.assertEqual(len(self.rpc.list()), 1)

    def test_freebind_is_part_of_the_key(self):
        path = self.processes["kresd0"].config.environment["KRES_LISTEN_SPEC"]
        write_spec(path, [{"addr": "127.0.0.1", "port": self.ports[0], "proto": "tcp", "freebind": True}])
        self.spawn_all()
        write_spec(path, [{"addr": "127.0.0.1", "port": self.ports[0], "proto": "tcp"}])
        self.assertEqual(self.rpc.prune(), ["127.0.0.1@%d/tcp/freebind" % self.ports[0]])

    def test_lost_fds_are_forgotten_at_inject(self):
        self.spec("kresd0", self.ports[0])
        self.spawn_all()
        os.close(listen_fds._state.held[("127.0.0.1", self.ports[0], "udp", False)].fd)
        listen_fds.inject(self.supervisord)  # as after a reload
        self.assertEqual(listen_fds._state.held, {})


# ---------------------------------------------------------------------------
# through a real supervisord

KRESD = "/usr/sbin/kresd"
KDIG = "/usr/bin/kdig"

# a copy of harness/offline.ts OFFLINE_LUA: keeps kresd off the network
OFFLINE_GUARD_LUA = "\n".join(
    [
        "-- harness: keep this kresd offline (harness/offline.ts)",
        'trust_anchors.remove(".")',
        "do",
        "\tlocal present = {}",
        "\tfor _, m in ipairs(modules.list()) do present[m] = true end",
        '\tfor _, m in ipairs({"priming", "detect_time_skew", "detect_time_jump", "ta_update", "ta_signal_query",'
        ' "ta_sentinel"}) do',
        "\t\tif present[m] then pcall(modules.unload, m) end",
        "\tend",
        "end",
        'modules.load("hints > iterate")',
        'hints.root({["root.invalid."] = {"127.0.0.1"}})',
        "",
    ]
)

# a stand-in worker: reports the fds it got, then answers UDP datagrams with
# "<instance> <pid> <datagram>" until stopped
PROBE_PY = r"""
import json, os, select, socket, sys

instance = sys.argv[1]
found = []
sockets = []
received = []
for fd in range(3, 64):
    try:
        received.append((fd, os.fstat(fd)))
    except OSError:
        pass
for fd, st in received:
    sock = socket.socket(fileno=os.dup(fd))
    found.append({
        "fd": fd,
        "inode": st.st_ino,
        "name": list(sock.getsockname()[:2]),
        "type": int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)),
        "listening": sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN),
        "inheritable": os.get_inheritable(fd),
    })
    if sock.type == socket.SOCK_DGRAM:
        sockets.append(sock)
report = {"pid": os.getpid(), "argv": sys.argv[2:], "fds": found}
path = "report-%s.json" % instance
with open(path + ".tmp", "w") as out:
    json.dump(report, out)
os.rename(path + ".tmp", path)
print("probe %s ready with %d fds" % (instance, len(found)), flush=True)
while not sockets:
    select.select([], [], [], 3600)
while True:
    readable, _, _ = select.select(sockets, [], [])
    for sock in readable:
        try:
            data, peer = sock.recvfrom(512)
        except BlockingIOError:
            continue
        sock.sendto(("%s %d " % (instance, os.getpid())).encode() + data, peer)
"""

LISTEN_SUPERVISORD_CONF = """
[rpcinterface:listen_fds]
supervisor.rpcinterface_factory = kres_supervisord.listen_fds:inject

[rpcinterface:listen_fds_again]
; a second section with the same factory: hooks must not stack
supervisor.rpcinterface_factory = kres_supervisord.listen_fds:inject

[program:probe]
process_name = %(program_name)s%(process_num)d
numprocs = 2
command = /usr/bin/python3 {dir}/probe.py %(process_num)d --some-arg
directory = {dir}
environment = KRES_LISTEN_SPEC="{dir}/probe.listen"
autostart = false
autorestart = false
startsecs = 0
startretries = 0
stopwaitsecs = 5
stdout_logfile = NONE
stderr_logfile = NONE

[program:busy]
command = /usr/bin/python3 {dir}/probe.py busy
directory = {dir}
environment = KRES_LISTEN_SPEC="{dir}/busy.listen"
autostart = false
autorestart = false
startsecs = 0
startretries = 0
stdout_logfile = NONE
stderr_logfile = NONE

[program:kresd]
process_name = %(program_name)s%(process_num)d
numprocs = 2
command = {kresd} -n -c {dir}/kresd.lua {dir}/kresd%(process_num)d
environment = KRES_LISTEN_SPEC="{dir}/kresd.listen",KRESD_NO_LISTEN="1"
autostart = false
autorestart = false
startsecs = 1
startretries = 0
stopwaitsecs = 10
stdout_logfile = NONE
stderr_logfile = NONE
"""


class SupervisordHarness(RealSupervisord):
    """A real supervisord with the listen_fds plugin (no tests of its own)."""

    prefix = "kres-listen-fds-"
    conf = LISTEN_SUPERVISORD_CONF
    conf_vars = {"kresd": KRESD}
    stop_timeout = 30
    wait_errors = RealSupervisord.wait_errors + (ValueError,)

    @classmethod
    def prepare(cls):
        with open(os.path.join(cls.dir, "probe.py"), "w") as script:
            script.write(PROBE_PY)
        with open(os.path.join(cls.dir, "kresd.lua"), "w") as lua:
            lua.write(OFFLINE_GUARD_LUA + "cache.size = 10 * MB\n")
        for name in ("kresd0", "kresd1"):
            os.mkdir(os.path.join(cls.dir, name))

    def setUp(self):
        self.addCleanup(self.stop_everything)

    def stop_everything(self):
        for info in self.rpc.supervisor.getAllProcessInfo():
            if info["statename"] in ("RUNNING", "STARTING", "BACKOFF"):
                try:
                    self.rpc.supervisor.stopProcess("%s:%s" % (info["group"], info["name"]), True)
                except xmlrpc.client.Fault:
                    pass
        for name in ("probe.listen", "busy.listen", "kresd.listen"):
            self.remove(name)
        self.rpc.listen_fds.prune()
        self.assertEqual(self.rpc.listen_fds.list(), [])

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path + ".tmp", "w") as out:
            json.dump(data, out)
        os.rename(path + ".tmp", path)

    def remove(self, name):
        try:
            os.unlink(os.path.join(self.dir, name))
        except FileNotFoundError:
            pass

    def report(self, instance, pid):
        path = os.path.join(self.dir, "report-%s.json" % instance)
        with open(path) as report:
            data = json.load(report)
        return data if data["pid"] == pid else None

    def start_probe(self, instance):
        name = "probe:probe%s" % instance
        self.rpc.supervisor.startProcess(name, True)
        pid = self.rpc.supervisor.getProcessInfo(name)["pid"]
        return self.wait_for("report of probe%s" % instance, lambda: self.report(instance, pid))

    def supervisord_inode(self, fd):
        return os.stat("/proc/%d/fd/%d" % (self.supervisord.pid, fd)).st_ino

    def held(self):
        return {(entry["addr"], entry["port"], entry["proto"]): entry for entry in self.rpc.listen_fds.list()}

    @staticmethod
    def ask(port, payload, timeout=3.0):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(timeout)
            client.sendto(payload, ("127.0.0.1", port))
            return client.recv(512).decode()



class ThroughSupervisord(SupervisordHarness):
    """listen_fds in a real supervisord: sockets handed to real children."""

    def test_both_instances_get_the_very_sockets_supervisord_holds(self):
        port = free_port()
        self.write("probe.listen", [
            {"addr": "127.0.0.1", "port": port, "proto": "udp"},
            {"addr": "127.0.0.1", "port": port, "proto": "tcp", "kind": "tls"},
        ])
        reports = [self.start_probe(0), self.start_probe(1)]
        held = self.held()
        udp, tcp = held[("127.0.0.1", port, "udp")], held[("127.0.0.1", port, "tcp")]
        self.assertGreaterEqual(udp["fd"], 1024)  # default minfds
        self.assertGreaterEqual(tcp["fd"], 1024)
        for report in reports:
            self.assertEqual(report["argv"], ["--some-arg", "-S", "3", "-S", "4:tls"])
            self.assertEqual(
                report["fds"],
                [
                    {"fd": 3, "inode": self.supervisord_inode(udp["fd"]), "name": ["127.0.0.1", port],
                     "type": int(socket.SOCK_DGRAM), "listening": 0, "inheritable": True},
                    {"fd": 4, "inode": self.supervisord_inode(tcp["fd"]), "name": ["127.0.0.1", port],
                     "type": int(socket.SOCK_STREAM), "listening": 1, "inheritable": True},
                ],
            )
        self.assertIn("listen_fds: listening on 127.0.0.1@%d/udp (fd %d)" % (port, udp["fd"]), self.log())

    def test_nothing_queued_is_lost_while_an_instance_stops_or_none_runs(self):
        port = free_port()
        self.write("probe.listen", [{"addr": "127.0.0.1", "port": port, "proto": "udp"}])
        first, second = self.start_probe(0), self.start_probe(1)
        self.assertRegex(self.ask(port, b"hello"), r"^[01] \d+ hello$")
        self.rpc.supervisor.stopProcess("probe:probe0", True)
        for n in range(5):
            self.assertEqual(self.ask(port, b"q%d" % n), "1 %d q%d" % (second["pid"], n))
        self.rpc.supervisor.stopProcess("probe:probe1", True)
        # nobody reads now: the datagram waits in supervisord's socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(10)
            client.sendto(b"queued", ("127.0.0.1", port))
            third = self.start_probe(0)
            self.assertNotEqual(third["pid"], first["pid"])
            self.assertEqual(client.recv(512).decode(), "0 %d queued" % third["pid"])

    def test_a_busy_address_is_the_spawn_error(self):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind(("127.0.0.1", port))
            self.write("busy.listen", [{"addr": "127.0.0.1", "port": port, "proto": "udp"}])
            with self.assertRaises(xmlrpc.client.Fault) as raised:
                self.rpc.supervisor.startProcess("busy", True)
            self.assertEqual(raised.exception.faultCode, Faults.SPAWN_ERROR)
            info = self.rpc.supervisor.getProcessInfo("busy")
            self.assertEqual(info["spawnerr"], "cannot listen on 127.0.0.1@%d (udp): Address already in use" % port)
            self.assertNotIn(("127.0.0.1", port, "udp"), self.held())
        self.write("busy.listen", [{"addr": "127.0.0.1", "port": port, "proto": "udp", "kind": "tls"}])
        with self.assertRaises(xmlrpc.client.Fault) as raised:
            self.rpc.supervisor.startProcess("busy", True)
        self.assertIn('[0].kind: "tls" needs "proto": "tcp"', self.rpc.supervisor.getProcessInfo("busy")["spawnerr"])
        self.remove("busy.listen")
        self.rpc.supervisor.startProcess("busy", True)  # no spec: starts without sockets
        pid = self.rpc.supervisor.getProcessInfo("busy")["pid"]
        report = self.wait_for("report of busy", lambda: self.report("busy", pid))
        self.assertEqual(report["fds"], [])
        self.assertEqual(report["argv"], [])

    def test_prune_closes_a_socket_no_spec_names_any_more(self):
        ports = [free_port(), free_port()]
        self.write("probe.listen", [{"addr": "127.0.0.1", "port": port, "proto": "udp"} for port in ports])
        self.start_probe(0)
        self.assertEqual(self.rpc.listen_fds.prune(), [])
        gone = self.held()[("127.0.0.1", ports[1], "udp")]["fd"]
        self.write("probe.listen", [{"addr": "127.0.0.1", "port": ports[0], "proto": "udp"}])
        self.assertEqual(self.rpc.listen_fds.prune(), ["127.0.0.1@%d/udp" % ports[1]])
        self.assertEqual(list(self.held()), [("127.0.0.1", ports[0], "udp")])
        self.assertFalse(os.path.exists("/proc/%d/fd/%d" % (self.supervisord.pid, gone)))
        # the running probe still has its own copy: the address stays taken until it stops
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            with self.assertRaises(OSError):
                other.bind(("127.0.0.1", ports[1]))
            self.rpc.supervisor.stopProcess("probe:probe0", True)
            other.bind(("127.0.0.1", ports[1]))

    def test_is_listed_with_signatures(self):
        methods = self.rpc.system.listMethods()
        self.assertIn("listen_fds.prune", methods)
        self.assertIn("listen_fds.list", methods)
        self.assertEqual(self.rpc.system.methodSignature("listen_fds.prune"), ["array"])
        self.assertEqual(self.rpc.system.methodSignature("listen_fds.list"), ["array"])

    def kdig(self, port, *flags):
        result = subprocess.run(
            [KDIG, "@127.0.0.1", "-p", str(port), "+timeout=3", "+retry=0", *flags, "localhost.", "A"],
            capture_output=True, text=True, timeout=30,
        )
        return result.returncode == 0 and "->>HEADER<<-" in result.stdout

    @unittest.skipUnless(os.access(KRESD, os.X_OK) and os.access(KDIG, os.X_OK), "needs kresd and kdig")
    def test_two_kresd_share_the_sockets_and_the_survivor_answers(self):
        port = free_port()
        self.write("kresd.listen", [
            {"addr": "127.0.0.1", "port": port, "proto": "udp"},
            {"addr": "127.0.0.1", "port": port, "proto": "tcp"},
        ])
        for n in (0, 1):
            self.rpc.supervisor.startProcess("kresd:kresd%d" % n, True)
        self.wait_for("kresd to answer", lambda: self.kdig(port, "+notcp") and self.kdig(port, "+tcp"), timeout=20)
        held = self.held()
        for n in (0, 1):
            pid = self.rpc.supervisor.getProcessInfo("kresd:kresd%d" % n)["pid"]
            for fd, proto in ((3, "udp"), (4, "tcp")):
                self.assertEqual(
                    os.stat("/proc/%d/fd/%d" % (pid, fd)).st_ino,
                    self.supervisord_inode(held[("127.0.0.1", port, proto)]["fd"]),
                )
        kresd0 = self.rpc.supervisor.getProcessInfo("kresd:kresd0")["pid"]
        os.kill(kresd0, 9)
        self.wait_for("kresd0 to be reaped", lambda: self.rpc.supervisor.getProcessInfo("kresd:kresd0")["pid"] == 0)
        for _ in range(5):
            self.assertTrue(self.kdig(port, "+notcp"))
            self.assertTrue(self.kdig(port, "+tcp"))
        self.assertNotIn("not handled", self.log())


class AcrossReload(SupervisordHarness):
    def test_held_sockets_survive_a_reload(self):
        port = free_port()
        self.write("probe.listen", [{"addr": "127.0.0.1", "port": port, "proto": "udp"}])
        before = self.start_probe(0)
        held = self.held()
        fd = held[("127.0.0.1", port, "udp")]["fd"]
        identity = self.supervisord_inode(fd)
        self.assertEqual(before["fds"][0]["inode"], identity)
        self.rpc.supervisor.restart()  # reload: stops the programs, cleanup_fds, factories again
        self.rpc("close")()
        type(self).rpc = None
        self.wait_for("the reload", lambda: self.log().count("supervisord started with pid") == 2)
        self.wait_for("supervisord to run again", self.supervisord_running)
        type(self).rpc = self.proxy()
        self.assertEqual(self.held(), held)
        self.assertEqual(self.supervisord_inode(fd), identity)
        after = self.start_probe(0)
        self.assertNotEqual(after["pid"], before["pid"])
        self.assertEqual(after["fds"][0]["inode"], identity)


if __name__ == "__main__":
    unittest.main()
