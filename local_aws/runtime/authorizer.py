"""Who may invoke: the control plane holds IAM's state, so the runtime asks it (and remembers briefly)."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from typing import Any

from local_aws.config import DUMMY_KEY_ID

AUTHORIZE_PATH = "/_local_aws/authorize"
CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
VERDICT_TTL_S = 1.0


class ControlPlaneAuthorizer:
    """`denial(headers, endpoint)`: None when the caller may invoke the endpoint, else AWS's message."""

    def __init__(self, control_url: str, ttl_s: float = VERDICT_TTL_S) -> None:
        self.url = control_url + AUTHORIZE_PATH
        self.ttl_s = ttl_s
        self._verdicts: dict[tuple[str, str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def denial(self, headers: Any, endpoint_name: str, action: str = "InvokeEndpoint") -> str | None:
        found = CREDENTIAL.search(headers.get("Authorization", "") or "")
        if found is None or found.group(1) == DUMMY_KEY_ID:
            return None  # unsigned (the container contract) or the administrator's key
        key = (found.group(1), endpoint_name, action)
        with self._lock:
            cached = self._verdicts.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        message = self._ask(*key)
        with self._lock:
            self._verdicts[key] = (time.monotonic(), message)
        return message

    def _ask(self, access_key_id: str, endpoint_name: str, action: str) -> str | None:
        asked = {"access_key_id": access_key_id, "endpoint_name": endpoint_name, "action": action}
        body = json.dumps(asked).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            verdict = json.loads(response.read())
        return None if verdict["allowed"] else str(verdict["message"])
