"""pSConfig: describe a whole mesh in one template and let every node keep its tasks in line.

A pSConfig template (perfSONAR's JSON format: ``addresses``, ``groups``, ``tests``,
``schedules``, ``archives``, ``hosts``, ``tasks``) says which pairs of hosts test what and how
often.  ``schema`` validates it with errors that name the bad field's path, ``expand`` turns it
into pScheduler task bodies (one per address pair, with the host that must schedule it and the
lead to post it to), ``sources`` loads templates from ``psconfig.d/`` and remote URLs (keeping
the last good copy), and ``agent`` runs the cycle that posts missing tasks to their leads,
leaves identical ones, renews them before they end and deletes the ones it made that the
template no longer wants -- over the REST API only, so any pScheduler host can lead.
"""
