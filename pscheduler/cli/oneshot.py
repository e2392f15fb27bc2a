"""Run one single-shot task to completion: what ``troubleshoot`` and ``batch`` both need.

Post the task to its lead, wait for the scheduler to place the run, sleep until it ends,
then long-poll for the merged result.  Every wait is bounded.
"""

from __future__ import annotations

import time

from pscheduler.cli.client import Client, ClientError, ServerError, api_url, with_query
from pscheduler.cli.common import fail, seconds_until
from pscheduler.cli.runs import wait_for_result


def lead_for(client: Client, assist: str, task: dict, lead: str | None = None) -> str:
    test = task["test"]
    url = with_query(api_url(assist, f"tests/{test['type']}/participants"), spec=test["spec"])
    reply = client.get_json(url)
    participants = (reply or {}).get("participants") or [None]
    return participants[0] or lead or assist


def post_task(client: Client, lead: str, task: dict) -> str:
    try:
        url = client.post_json(api_url(lead, "tasks"), task)
    except ServerError as exc:
        raise fail(f"Failed to post task: {exc.text}") from None
    if not isinstance(url, str):
        raise fail(f"Unexpected reply from {lead} to the task post: {url!r}")
    return url


def first_run(client: Client, task_url: str, wait_s: float = 90.0) -> str:
    """URL of the task's first run, polling the run list (bounded)."""
    deadline = time.monotonic() + wait_s
    delay = 0.2
    while True:
        urls = client.get_json(task_url + "/runs")
        if isinstance(urls, list) and urls:
            return urls[0]
        if time.monotonic() > deadline:
            raise fail("The server never scheduled a run for the task.", 1)
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


def run_to_completion(client: Client, task_url: str, slack_s: float = 60.0) -> dict:
    """The finished run (or the last state seen when it never finished)."""
    run_url = first_run(client, task_url)
    run = client.get_json(run_url)
    if run.get("state") != "nonstart":
        left = seconds_until(run.get("end-time"))
        if left > 0:
            time.sleep(left)
    try:
        return wait_for_result(client, run_url, deadline_s=slack_s)
    except ClientError:
        return client.get_json(run_url)
