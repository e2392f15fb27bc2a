"""Events: the node's event log (``log``), streamed to clients at ``/events``, and waiting for
a run to change or appear (``waits``).  Each process keeps one LISTEN connection (``fanout``)
and fans NOTIFYs out to every waiter and stream, so no request opens a connection to wait."""
