"""The health check the deployment polls (docker-compose) and the benchmark's floor."""


def test_healthz_answers_a_constant_json_body_without_the_database(client):
    """No database access is allowed in this test: the check must not need one."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
