"""Tasks: the task specification a client posts (``spec``), creating one on the lead
(validation, tool choice, limits) and reading or cancelling it (``create``), and tasks that
span nodes — the lead's distribution and a participant's acceptance (``mesh``)."""
