"""Hole 3: /m1/ writes.  A reported workflow is changed only by its creator's address, a
holder of the key handed out at creation, or an admin token."""

from __future__ import annotations

from tests.interfaces._util import root


def test_workflow_writes_need_creator_key_or_admin(node, outsider, admin):
    base = root(node) + "/m1"
    created = node.session.post(base + "/workflow/create/", json={"name": "mine"}, timeout=10)
    assert created.status_code == 201
    wid, key = created.json()["id"], created.json()["key"]
    url = f"{base}/workflow/{wid}/"
    update = {"message": {"jobid": 1, "level": "job_info"}, "id": wid}

    for response in (
        outsider.put(url, json={"name": "stolen"}, timeout=10),
        outsider.post(url, json=update, timeout=10),
        outsider.delete(url, params={"force": "true"}, timeout=10),
        outsider.put(url, params={"key": "guess"}, json={"name": "stolen"}, timeout=10),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["errors"][0]["code"] == 403
    assert node.session.get(url, timeout=10).json()["workflow"]["name"] == "mine"

    assert node.session.post(url, json=update, timeout=10).status_code == 202  # the creator
    renamed = outsider.put(url, params={"key": key}, json={"name": "by key"}, timeout=10)
    assert renamed.status_code == 200 and renamed.json()["workflow"]["name"] == "by key"
    gone = outsider.delete(url, params={"force": "true"}, headers=admin, timeout=10)
    assert gone.status_code == 204
    assert node.session.get(url, timeout=10).status_code == 404
