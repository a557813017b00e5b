"""supervisord plugins of knot-resolver-manager.

Each module is loaded by supervisord itself through an ``[rpcinterface:NAME]``
section whose ``supervisor.rpcinterface_factory`` names one of the factories
below (``PYTHONPATH`` must contain the ``supervisord-plugins`` directory):

- ``kres_supervisord.sd_notify:inject`` -- $NOTIFY_SOCKET for programs marked
  ``environment=X-SUPERVISORD-TYPE=notify``; RUNNING only after ``READY=1``.
- ``kres_supervisord.manager_integration:inject`` -- the ``manager`` program
  drives supervisord's lifetime, readiness towards systemd and SIGHUP.
- ``kres_supervisord.patch_logger:inject`` -- children's output goes line by
  line to supervisord's own log, prefixed ``name[pid]: ``; XML-RPC
  ``patch_logger.tail(name)`` returns the last lines of a process's latest run.
- ``kres_supervisord.fast_rpcinterface:make_main_rpcinterface`` -- a
  ``startProcess`` that answers as soon as the process is RUNNING.
- ``kres_supervisord.listen_fds:inject`` -- supervisord binds the listening
  sockets named in a program's ``KRES_LISTEN_SPEC`` file and hands the same
  sockets to every such process as fds 3, 4, ... (``-S FD[:kind]`` appended
  to argv); XML-RPC ``listen_fds.prune()`` / ``listen_fds.list()``.

Written for supervisor 4.2.x (Debian bookworm ships 4.2.5). The factories are
called once per configured HTTP server and again after every supervisord
reload, so every hook here is installed idempotently.
"""
