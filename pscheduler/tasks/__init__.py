"""Tasks: the task specification a client posts (``spec``), creating one on the lead
(validation, tool choice, limits; ``create``), the stored row — built once for lead and
participant — read and cancelled (``store``), who may see a task's secrets or change it
(``access``), and tasks that span nodes — the lead's distribution and a participant's
acceptance (``mesh``)."""
