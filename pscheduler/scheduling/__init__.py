"""Scheduling: schedule arithmetic (``timing``: start, repeat, cron, slip), placing runs on a
conflict-free timeline (``place``) and across nodes (``coplace``), and the ``/schedule`` and
``/monitor`` views of the whole timeline (``view``)."""
