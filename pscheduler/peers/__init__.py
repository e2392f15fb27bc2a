"""Talking to other pScheduler nodes: ``client`` is every HTTP call of the lead/participant
wire protocol; ``queue`` is the durable outgoing queue for calls that must happen eventually
(cancellations to a node that is down)."""
