"""Schemathesis hooks for the contract fuzzing run (tests/e2e/test_contract_fuzzing.py).

Loaded by the `st` subprocess through SCHEMATHESIS_HOOKS (a path to this file), and
imported by the test for the names below, so both sides agree on them.

Why a hook at all: the fuzzer authenticates with one API key for the whole run, and it
also exercises DELETE /api/v1/api-keys/{name}, with names it takes from
GET /api/v1/api-keys (the stateful phase's links, and the coverage phase's examples).
Revoking the key it authenticates with is a legitimate call that succeeds, and from then
on every request is a 401: the rest of the run tests nothing. Filtering the path
parameter (`filter_path_parameters`) did not stop it, as the stateful phase fills
parameters from earlier responses after generation. So the last thing before the request
goes out, `before_call` sends a DELETE aimed at a protected key to a decoy key made for
this purpose instead: the call still revokes a real key (a 200 first, then 404s), and the
fuzzer's own key, and the other scopes' keys of the same server, stay valid.
"""

from __future__ import annotations

from typing import Any

import schemathesis

# The keys the fuzzer authenticates with are all named PROTECTED_PREFIX + scope.
PROTECTED_PREFIX = "fuzz-"
# A key made only to be revoked in their place (it does not have the prefix).
DECOY_KEY_NAME = "decoy-for-fuzz"

REVOKE_PATH = "/api/v1/api-keys/{name}"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """DELETE /api/v1/api-keys/<a protected key> revokes the decoy instead."""
    if case.method.upper() != "DELETE" or case.operation.path != REVOKE_PATH:
        return
    name = (case.path_parameters or {}).get("name")
    if isinstance(name, str) and name.startswith(PROTECTED_PREFIX):
        case.path_parameters = {**case.path_parameters, "name": DECOY_KEY_NAME}
