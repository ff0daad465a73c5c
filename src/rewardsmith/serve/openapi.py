"""The server's OpenAPI 3.1 document, built from the msgspec wire types so it cannot drift."""

from __future__ import annotations

from typing import Any

import msgspec

from rewardsmith.serve.wire import ErrorBody, RewardRequest, RewardResponse, ScoreResponse

__all__ = ["openapi_document"]

_MESSAGE = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"type": "string"},
        "content": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {}}, {"type": "null"}]
        },
    },
}
_TEXT_OR_MESSAGES = {"anyOf": [{"type": "string"}, {"type": "array", "items": _MESSAGE}]}

# Rows are free-form (every extra field rides along), so the sample schema is written here
# rather than derived: it states exactly what `Sample.from_row` accepts.
_SAMPLE = {
    "type": "object",
    "description": "One row to score, as in a JSONL file; fields other than these ride along.",
    "required": ["completion"],
    "properties": {
        "id": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
        "completion": _TEXT_OR_MESSAGES,
        "prompt": {"anyOf": [*_TEXT_OR_MESSAGES["anyOf"], {"type": "null"}]},
        "reference": {"description": "Whatever the reward needs: gold answer, tests, schema."},
        "task": {"type": ["string", "null"]},
        "group": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
    },
    "additionalProperties": True,
}


_IDEMPOTENCY = (
    "A request may carry an `Idempotency-Key` header (1-255 printable ASCII characters): a "
    "retry with the same key and body is answered with the first request's response (header "
    "`idempotent-replayed: true`) without scoring or logging its rows again; the same key with "
    "a different body is a 422. Keys are kept in a bounded in-memory record."
)
_TASK_PARAMETER = {
    "name": "task",
    "in": "query",
    "required": False,
    "description": "Task of every row that carries none (routes terms with `when`).",
    "schema": {"type": "string"},
}


def _error_responses(*codes: int) -> dict[str, Any]:
    meaning = {
        401: "Missing or wrong bearer token.",
        408: "The request body did not arrive within body_timeout_s; the connection is closed.",
        413: "Body or batch larger than the server accepts.",
        422: "Malformed JSON, or a row or field that is wrong (each problem names row and field).",
        429: "The scoring queue is full; retry after the Retry-After header's seconds.",
        500: "A status whose policy is `raise` occurred, or the engine failed.",
        503: "The server is shutting down or cannot score, or too many request bodies are "
        "being received at once (max_pending_body_bytes; retry after Retry-After).",
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    return {str(code): {"description": meaning[code], "content": error} for code in codes}


def openapi_document(*, title: str, version: str, spec_name: str, auth: bool) -> dict[str, Any]:
    """The OpenAPI document of a server scoring with spec ``spec_name``."""
    _, components = msgspec.json.schema_components(
        [ScoreResponse, RewardRequest, RewardResponse, ErrorBody],
        ref_template="#/components/schemas/{name}",
    )
    components["Sample"] = _SAMPLE
    components["ScoreRequest"] = {
        "type": "object",
        "required": ["samples"],
        "properties": {
            "samples": {"type": "array", "items": {"$ref": "#/components/schemas/Sample"}}
        },
        "additionalProperties": False,
    }
    security: list[dict[str, list[str]]] = [{"bearer": []}] if auth else []
    scoring_errors = (401, 408, 413, 422, 429, 500, 503) if auth else (408, 413, 422, 429, 500, 503)

    def scoring(summary: str, request: str, response: str) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "description": _IDEMPOTENCY,
                "security": security,
                "parameters": [_TASK_PARAMETER],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{request}"}}
                    },
                },
                "responses": {
                    "200": {
                        "description": "One result per input row, in order.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{response}"}
                            }
                        },
                    },
                    **_error_responses(*scoring_errors),
                },
            }
        }

    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": f"rewardsmith reward server scoring with spec {spec_name!r}.",
        },
        "paths": {
            "/v1/score": scoring(
                "Score rows with the server's spec.", "ScoreRequest", "ScoreResponse"
            ),
            "/get_reward": scoring(
                "OpenRLHF remote reward protocol.", "RewardRequest", "RewardResponse"
            ),
            "/healthz": {
                "get": {
                    "summary": "Liveness and readiness.",
                    "responses": {
                        "200": {
                            "description": "Serving.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_error_responses(503),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus text exposition.",
                    "responses": {
                        "200": {
                            "description": "Metrics.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": components},
    }
    if auth:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return document
