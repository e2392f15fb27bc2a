"""Runs of a task: reading, listing and waiting on them (``read``), executing them on time
(``execute``), a participant's side of a multi-participant run (``participant``) and the
lead's gathering and merging of every participant's result (``gather``)."""
