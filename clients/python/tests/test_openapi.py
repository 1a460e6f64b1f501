"""The server's OpenAPI document is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import json
import urllib.request

from openapi_spec_validator import validate


def test_openapi_document_validates(verdict_url):
    with urllib.request.urlopen(verdict_url + "/openapi.json") as response:
        document = json.loads(response.read())
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert "/v1/rewards" in document["paths"]
