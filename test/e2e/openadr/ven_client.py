"""One OpenADR 3 operation through ElaadNL's openadr3-client, for the e2e suites.

The suites run this once per operation, with the Python of the virtual environment that
testkit's ensureOpenAdr3Client() made (openadr3-client pinned there). It reads one JSON request
on standard input and prints one JSON result on standard output:

    {"version": "3.1.0" | "3.0.1", "baseUrl": "https://localhost:9444/openadr/3.1.0",
     "tokenUrl": "https://localhost:9444/openadr/3.1.0/auth/token",   # optional for 3.1.0
     "clientId": "...", "clientSecret": "...", "caFile": "/path/ca.pem",
     "client": "ven" | "bl",                                           # optional, default "ven"
     "scopes": ["..."],                                                # optional, none by default
     "op": "...", ...op-specific fields}

The ops and their fields (lists print as JSON arrays, objects by their spec names, camelCase):

    token                 -> {access_token, expires_in, token_type}
    auth_server           -> {tokenURL} (3.1.0 only; anonymous GET <base>/auth/server)
    programs              targets (3.1.0) | targetType + targetValues (3.0.1), skip, limit
    program               programID
    events                programID, targets | targetType + targetValues, skip, limit
    event                 eventID
    create_report         eventID, programID (3.0.1 only), clientName, reportName, resourceName,
                          payloadType (USAGE_FORECAST, USAGE, ...), and either values (one
                          interval, id 0) or intervals [{id, values, start?, duration?}];
                          start + duration (ISO 8601) at the top level: the resource's period
    reports               programID, eventID, clientName, skip, limit
    vens                  venName, targets | targetType + targetValues, skip, limit
    resources             venID (required for 3.0.1), resourceName, targets | ..., skip, limit
    create_subscription   programID (required for 3.0.1), clientName (default clientId),
                          callbackUrl, bearerToken, objects ["EVENT"], operations ["POST", "PUT"]
    subscriptions         programID, clientName, objects, targetType + targetValues (3.0.1), skip, limit
    delete_subscription   subscriptionID
    raw_get               path (below baseUrl), query {}, bearerToken (none: no Authorization)
                          -> {status, body}, or the error with status, body and wwwAuthenticate

Every operation but raw_get goes through the library as a new user of it would drive a VTN: its
public client factories and interfaces (with the filter and interval models they take, which the
library defines in its _vtn and _models packages), except token, which uses the library's own
token manager because the public API hands no token out. A refusal (an HTTP error, an OAuth error, a
response or input the library's models reject, a TLS or connection failure) is printed as
{"error": {"type", "status", "message", ...}} with exit code 0, so the caller can assert it.
A malformed request is the caller's bug: message on stderr, exit code 2. Anything else is a bug
of this driver and ends in a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import requests
from oauthlib.oauth2 import OAuth2Error
from openadr3_client.bl.http_factory import BusinessLogicHttpClientFactory
from openadr3_client.ven.http_factory import VirtualEndNodeHttpClientFactory
from openadr3_client.version import OADRVersion
from pydantic import BaseModel, ValidationError

Request = dict[str, Any]
Result = Any  # a JSON value: an object, or an array of objects

VERSIONS = {"3.0.1": OADRVersion.OADR_301, "3.1.0": OADRVersion.OADR_310}
# Operations the BL client's interfaces offer (its reports and subscriptions are read-only).
BL_OPS = {"programs", "program", "events", "event", "reports", "vens", "resources", "subscriptions"}
CLIENT_OPS = BL_OPS | {"create_report", "create_subscription", "delete_subscription"}


# HTTP statuses of token endpoint answers, recorded by the token op (see op_token).
TOKEN_STATUS: list[int] = []


class UsageError(Exception):
    """The request itself is malformed: a bug of the calling test, not a refusal."""


def need(req: Request, field: str) -> Any:
    if req.get(field) in (None, ""):
        raise UsageError(f"op {req.get('op')!r} needs the field {field!r}")
    return req[field]


def dump(value: Any) -> Any:
    """Library models as the JSON the spec names them by (camelCase aliases: programID, ...)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, (list, tuple)):
        return [dump(item) for item in value]
    return value


# --- the version-specific model modules, imported on demand -------------------------------------


def models(version: str) -> Any:
    """The namespace of one version's models and query filters.

    The filters (PaginationFilter, TargetFilter) are only defined in the library's `_vtn`
    package; its README passes them to the public get_* calls, so they are used from there.
    """
    from types import SimpleNamespace

    if version == "3.0.1":
        from openadr3_client.oadr301._vtn.interfaces import filters
        from openadr3_client.oadr301.models.report import report, report_payload
        from openadr3_client.oadr301.models.subscriptions import subscription
    else:
        from openadr3_client.oadr310._vtn.interfaces import filters  # type: ignore[no-redef]
        from openadr3_client.oadr310.models.report import report, report_payload  # type: ignore[no-redef]
        from openadr3_client.oadr310.models.subscriptions import subscription  # type: ignore[no-redef]
    # Shared by both versions; defined in _models, the version packages use them from there.
    from openadr3_client._models.common.interval import Interval
    from openadr3_client._models.common.interval_period import IntervalPeriod

    return SimpleNamespace(
        filters=filters,
        report=report,
        report_payload=report_payload,
        subscription=subscription,
        Interval=Interval,
        IntervalPeriod=IntervalPeriod,
    )


def pagination(req: Request, m: Any) -> Any:
    """skip/limit: the library's PaginationFilter needs both; a missing skip is 0, a missing limit 50."""
    if req.get("skip") is None and req.get("limit") is None:
        return None
    return m.filters.PaginationFilter(skip=int(req.get("skip") or 0), limit=int(req.get("limit") or 50))


def target(req: Request, m: Any) -> Any:
    """3.1.0 filters on `targets` (strings); 3.0.1 on `targetType` plus `targetValues`."""
    if req["version"] == "3.1.0":
        return m.filters.TargetFilter(targets=list(req["targets"])) if req.get("targets") else None
    if req.get("targetType"):
        return m.filters.TargetFilter(target_type=req["targetType"], target_values=list(req.get("targetValues") or []))
    return None


# --- clients ------------------------------------------------------------------------------------


def make_client(req: Request) -> Any:
    version = VERSIONS[req["version"]]
    common: dict[str, Any] = {
        "vtn_base_url": need(req, "baseUrl"),
        "client_id": need(req, "clientId"),
        "client_secret": need(req, "clientSecret"),
        # None lets a 3.1.0 client discover the token URL from GET <base>/auth/server.
        "token_url": req.get("tokenUrl") or None,
        "scopes": req.get("scopes"),
        "verify_vtn_tls_certificate": Path(need(req, "caFile")),
        "version": version,
    }
    if req.get("client", "ven") == "bl":
        return BusinessLogicHttpClientFactory.create_http_bl_client(**common)
    return VirtualEndNodeHttpClientFactory.create_http_ven_client(**common)


def op_token(req: Request) -> Result:
    """A token exactly as the clients fetch theirs.

    The public API never hands out the token, so this uses the library's own token manager
    (openadr3_client._auth) with the configuration its factories build: the request on the wire
    is the one every client call makes first. A compliance hook (a public requests-oauthlib
    feature) records the token endpoint's HTTP status, which oauthlib's errors do not carry.
    """
    from openadr3_client._auth.config_builder import build_token_manager_config
    from openadr3_client._auth.token_manager import OAuthTokenManager

    config = build_token_manager_config(
        client_id=need(req, "clientId"),
        client_secret=need(req, "clientSecret"),
        token_url=req.get("tokenUrl") or None,
        scopes=req.get("scopes"),
        audience=None,
        vtn_base_url=need(req, "baseUrl"),
        verify_vtn_tls_certificate=Path(need(req, "caFile")),
        version=VERSIONS[req["version"]],
        factory_name="ven_client.py",
    )
    manager = OAuthTokenManager(config)

    def record(response: requests.Response) -> requests.Response:
        TOKEN_STATUS.append(response.status_code)
        return response

    manager.oauth.register_compliance_hook("access_token_response", record)
    manager.get_access_token()
    token = manager.oauth.token
    return {key: token.get(key) for key in ("access_token", "expires_in", "token_type")}


def op_auth_server(req: Request) -> Result:
    """3.1.0 discovery, GET <base>/auth/server, through an anonymous client's auth interface."""
    client: Any = VirtualEndNodeHttpClientFactory.create_anonymous_http_ven_client(
        vtn_base_url=need(req, "baseUrl"),
        verify_vtn_tls_certificate=Path(need(req, "caFile")),
        version=OADRVersion.OADR_310,
    )
    return dump(client.auth.get_auth_server())


def op_raw_get(req: Request) -> Result:
    """GET with a bearer token the caller chooses (or none), to assert refusals of forged tokens.

    Deliberately not through the library: it always fetches and sends its own valid token and
    offers no way to send another.
    """
    headers = {"Accept": "application/json"}
    if req.get("bearerToken") is not None:
        headers["Authorization"] = f"Bearer {req['bearerToken']}"
    response = requests.get(
        need(req, "baseUrl").rstrip("/") + "/" + str(need(req, "path")).lstrip("/"),
        params=req.get("query"),
        headers=headers,
        verify=need(req, "caFile"),
        timeout=30,
    )
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if response.ok:
        return {"status": response.status_code, "body": body}
    return {
        "error": {
            "type": "HTTPError",
            "status": response.status_code,
            "message": response.text[:2000],
            "body": body,
            "wwwAuthenticate": response.headers.get("WWW-Authenticate"),
        }
    }


def new_report(req: Request, m: Any) -> Any:
    """One resource with one interval (or `intervals`: [{id, values, start?, duration?}])."""
    payload_type = m.report_payload.ReportPayloadType(need(req, "payloadType"))

    def period(start: Any, duration: Any) -> Any:
        return m.IntervalPeriod(start=start, duration=duration) if start is not None else None

    specs = req.get("intervals") or [{"id": 0, "values": need(req, "values")}]
    intervals = tuple(
        m.Interval(
            id=int(spec.get("id", index)),
            interval_period=period(spec.get("start"), spec.get("duration", "PT0S")),
            payloads=(m.report_payload.ReportPayload(type=payload_type, values=tuple(spec["values"])),),
        )
        for index, spec in enumerate(specs)
    )
    resource = m.report.ReportResource(
        resource_name=need(req, "resourceName"),
        # Top-level start/duration: the default period of the resource's intervals.
        interval_period=period(req.get("start"), req.get("duration", "PT0S")),
        intervals=intervals,
    )
    fields: dict[str, Any] = {
        "event_id": need(req, "eventID"),
        "client_name": need(req, "clientName"),
        "report_name": req.get("reportName"),
        "resources": (resource,),
    }
    if req["version"] == "3.0.1":
        # 3.1.0 reports have no programID (the library's 3.1.0 model has no such field).
        fields["program_id"] = need(req, "programID")
    return m.report.NewReport(**fields)


def new_subscription(req: Request, m: Any) -> Any:
    s = m.subscription
    operation = s.ObjectOperation(
        objects=tuple(s.Object(o) for o in req.get("objects") or ["EVENT"]),
        # The library only knows GET/POST/PUT/DELETE here, not the spec's READ/CREATE/UPDATE/DELETE.
        operations=tuple(s.Operation(o) for o in req.get("operations") or ["POST", "PUT"]),
        callback_url=need(req, "callbackUrl"),
        bearer_token=req.get("bearerToken"),
    )
    fields: dict[str, Any] = {
        "client_name": req.get("clientName") or need(req, "clientId"),
        "program_id": req.get("programID") if req["version"] == "3.1.0" else need(req, "programID"),
        "object_operations": (operation,),
    }
    return s.NewSubscription(**fields)


def run_client_op(req: Request) -> Result:
    op = req["op"]
    if op not in CLIENT_OPS:
        raise UsageError(f"unknown op {op!r}")
    if req.get("client", "ven") == "bl" and op not in BL_OPS:
        raise UsageError(f"the library's BL client cannot do {op!r}")
    m = models(req["version"])
    v310 = req["version"] == "3.1.0"
    client = make_client(req)
    if op == "programs":
        return dump(client.programs.get_programs(target=target(req, m), pagination=pagination(req, m)))
    if op == "program":
        return dump(client.programs.get_program_by_id(need(req, "programID")))
    if op == "events":
        return dump(
            client.events.get_events(
                target=target(req, m), pagination=pagination(req, m), program_id=req.get("programID")
            )
        )
    if op == "event":
        return dump(client.events.get_event_by_id(need(req, "eventID")))
    if op == "create_report":
        return dump(client.reports.create_report(new_report(req, m)))
    if op == "reports":
        return dump(
            client.reports.get_reports(
                pagination=pagination(req, m),
                program_id=req.get("programID"),
                event_id=req.get("eventID"),
                client_name=req.get("clientName"),
            )
        )
    if op == "vens":
        return dump(
            client.vens.get_vens(ven_name=req.get("venName"), target=target(req, m), pagination=pagination(req, m))
        )
    if op == "resources":
        filters = {"resource_name": req.get("resourceName"), "target": target(req, m), "pagination": pagination(req, m)}
        if v310:
            return dump(client.resources.get_resources(ven_id=req.get("venID"), **filters))
        return dump(client.vens.get_ven_resources(ven_id=need(req, "venID"), **filters))
    if op == "create_subscription":
        # The VEN client's subscriptions interface is typed read-only but is the read-write
        # implementation; the README lists managing subscriptions among the VEN client's jobs.
        return dump(client.subscriptions.create_subscription(new_subscription(req, m)))
    if op == "subscriptions":
        objects = tuple(m.subscription.Object(o) for o in req["objects"]) if req.get("objects") else None
        filters = {
            "pagination": pagination(req, m),
            "program_id": req.get("programID"),
            "client_name": req.get("clientName"),
            "objects": objects,
        }
        if not v310:
            filters["target"] = target(req, m)
        return dump(client.subscriptions.get_subscriptions(**filters))
    if op == "delete_subscription":
        return dump(client.subscriptions.delete_subscription_by_id(need(req, "subscriptionID")))
    raise AssertionError(f"op {op!r} is listed but not handled")


# --- errors and the entry point -----------------------------------------------------------------


def error_of(exc: Exception) -> dict[str, Any] | None:
    """The refusal an exception stands for, or None when it is a bug of this driver."""
    error: dict[str, Any] = {"type": type(exc).__name__, "status": None, "message": str(exc)}
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        error["status"] = exc.response.status_code
        error["message"] = exc.response.text[:2000]
        if exc.request is not None:
            error["request"] = " ".join([str(exc.request.method), str(exc.request.url)])
        return error
    if isinstance(exc, OAuth2Error):
        # Raised by oauthlib on the token endpoint's answer ({"error": "invalid_client"}, no
        # access_token, ...). The real HTTP status when the token op recorded it, else oauthlib's.
        error["status"] = TOKEN_STATUS[-1] if TOKEN_STATUS else exc.status_code
        error["oauthError"] = exc.error
        error["message"] = exc.description or str(exc)
        return error
    if isinstance(exc, ValidationError):
        # A VTN response (or an input) the library's pydantic models reject.
        error["message"] = str(exc)[:4000]
        return error
    if isinstance(exc, (requests.RequestException, ValueError, Warning)):
        # TLS and connection failures; the library's ValueErrors (HTTPS only, no access_token in
        # the token response, ...); oauthlib's Warning when the granted scope differs.
        return error
    return None


def fail_usage(message: str) -> NoReturn:
    print(f"ven_client.py: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    try:
        req: Request = json.load(sys.stdin)
    except ValueError as exc:
        fail_usage(f"standard input is not one JSON object: {exc}")
    if not isinstance(req, dict) or req.get("version") not in VERSIONS or not req.get("op"):
        fail_usage('the request needs "version" ("3.0.1" or "3.1.0") and "op"')
    if req.get("caFile"):
        # The library's token fetch (a bare requests-oauthlib session) and every 3.0.1 call (its
        # factory drops verify_vtn_tls_certificate) verify against requests' default bundle, which
        # only this variable changes. SSL_CERT_FILE would not: requests uses certifi's bundle.
        os.environ["REQUESTS_CA_BUNDLE"] = req["caFile"]
    handlers = {"token": op_token, "auth_server": op_auth_server, "raw_get": op_raw_get}
    try:
        result = handlers.get(req["op"], run_client_op)(req)
    except UsageError as exc:
        fail_usage(str(exc))
    except Exception as exc:  # sorted into refusals and driver bugs just below
        error = error_of(exc)
        if error is None:
            raise
        result = {"error": error}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
