"""The API fuzzed against its own OpenAPI schema with schemathesis (issue 17).

Every operation gets generated requests, valid and not: no answer may be a 5xx,
and every answer must be one the schema declares, with the declared media type
and a body matching the declared schema (errors as problem+json). A stateful
run then chains operations through the schema's links (issue a document, read
it, revoke it, download it...).

The round is seeded and short by default (``EDOC_FUZZ_EXAMPLES``, 15 per
operation); a long one: ``EDOC_FUZZ_EXAMPLES=2000 pytest tests/api/test_schema_fuzz.py``.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
)

from .conftest import Keys, example_data

EXAMPLES = int(os.environ.get("EDOC_FUZZ_EXAMPLES", "15"))
#: checks about the business meaning of generated data, not the API's conformance:
#: random `data` valid for the schema is rarely a valid certificate (a 422 is right)
SEMANTIC = [positive_data_acceptance, negative_data_rejection]
#: and a holder's ?token= download is meant to need no API key (the token is the credential)
STATEFUL_EXCLUDED = [*SEMANTIC, ignored_auth]

# Binary bodies: random bytes, a few bytes that look right, nothing at all.
_BYTES = st.one_of(st.binary(max_size=2048), st.sampled_from([b"", b"%PDF-1.7\n%%EOF", b"0\x03\x02\x01\x01"]))
for _media in ("application/timestamp-query", "application/ocsp-request", "application/pdf",
               "application/octet-stream"):
    schemathesis.openapi.media_type(_media, _BYTES)


@pytest.fixture
def api_settings():
    # the fuzzer is one client sending many requests: no rate limit in the way of coverage
    return {"rate_limit_per_minute": 0, "max_upload_bytes": 256 * 1024}


def credentials(keys: Keys, path: str) -> dict[str, str]:
    """The key a well-behaved client would send for this operation."""
    if path.startswith("/v1/keys") or path == "/metrics":
        return keys.admin.headers
    if path.startswith("/v1/audit"):
        return keys.auditor.headers
    if path.startswith("/v1/documents"):
        return keys.issuer.headers
    return {}


def _without_keys(headers) -> dict[str, str]:
    return {k: v for k, v in (headers or {}).items() if k.lower() not in ("authorization", "x-api-key")}


def _fuzz(app, keys: Keys | None, mode: GenerationMode, examples: int) -> list[str]:
    """Run every operation's generated cases; the failures, one line each."""
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case) -> None:
            headers = _without_keys(case.headers)
            if keys is not None:
                headers.update(credentials(keys, case.path))  # ours, not a generated one
            case.call_and_validate(headers=headers, excluded_checks=SEMANTIC)

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (e.g. no parameters): nothing to run
            continue
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failure in one run
            failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    return failures


def test_every_operation_answers_as_its_schema_says(app, keys):
    failures = _fuzz(app, keys, GenerationMode.POSITIVE, EXAMPLES)
    assert not failures, "\n\n".join(failures)


def test_invalid_requests_are_4xx_problems_as_the_schema_says(app, keys):
    failures = _fuzz(app, keys, GenerationMode.NEGATIVE, EXAMPLES)
    assert not failures, "\n\n".join(failures)


def test_requests_without_credentials_are_4xx_problems_as_the_schema_says(app):
    failures = _fuzz(app, None, GenerationMode.POSITIVE, max(5, EXAMPLES // 5))
    assert not failures, "\n\n".join(failures)


def test_chained_operations_answer_as_the_schema_says(app, keys, api_home):
    """Stateful: issue, read, download as the holder, revoke, verify, create and revoke keys,
    following the schema's links, each answer checked like the ones above."""
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    base = api.as_state_machine()
    seen: list[tuple[str, str, int]] = []
    certificate = example_data(api_home)

    class Machine(base):  # type: ignore[misc, valid-type]
        def before_call(self, case):
            if case.method == "POST" and case.path == "/v1/documents":
                # a real certificate, so that links from the 201 have a document to follow
                case.body = {"template": "certificate", "data": certificate}

        def after_call(self, response, case):
            seen.append((case.method, case.path, response.status_code))

        def get_call_kwargs(self, case):
            return {"headers": {**_without_keys(case.headers), **credentials(keys, case.path)}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, excluded_checks=STATEFUL_EXCLUDED, transport_kwargs=kwargs)

    Machine.run(settings=settings(max_examples=max(10, EXAMPLES), stateful_step_count=8, deadline=None,
                                  derandomize=True, database=None, suppress_health_check=list(HealthCheck)))
    # the chain did go somewhere: documents issued, then followed by their links
    assert ("POST", "/v1/documents", 201) in seen, sorted(set(seen))
    assert any(path != "/v1/documents" and path.startswith("/v1/documents/") and status < 300
               for _, path, status in seen), seen
