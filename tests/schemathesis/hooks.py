"""Schemathesis hooks for moments-gate, loaded by run.sh through SCHEMATHESIS_HOOKS.

1. The credential of the run (MG_TOKEN) is given by an auth provider, not by `--header`: st
   then knows it as the operation's bearer auth and leaves it off the requests it means to send
   without one. A header given with `--header` (or in st's config) is added to every request,
   so "missing Authorization" requests went out with the token and were reported as accepted.

2. A fresh `Idempotency-Key` for every request. st draws keys from a small space, so two
   different requests often carry the same key, and the server then rightly answers 422
   `idempotency_key_reused`. A key st generated invalid on purpose is left alone, so the
   server's refusal of bad keys is still exercised.

3. `POST /v1/auth/logout` ends the session it is sent with; sent with the run's token it
   would leave every later request of the run a 401. It gets a session of its own instead
   (a new account, signed in).

4. A filter for the answers that `positive_data_acceptance` and `missing_required_header`
   misread. Each exclusion is one status and `code` the SPEC fixes, with its reason, below;
   every other failure of those checks is kept, and no other check is filtered.
"""

import json
import re
import os
import urllib.request
import uuid

import schemathesis

BASE_URL = os.environ.get("MG_BASE_URL", "")
TOKEN = os.environ.get("MG_TOKEN", "")


def _is_valid_key(value):
    return isinstance(value, str) and 1 <= len(value) <= 255 and all("!" <= c <= "~" for c in value)


def _post(path, body):
    req = urllib.request.Request(
        BASE_URL + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def _fresh_session():
    """A session of a new account of its own: signing in again as the run's user would not
    do, since st also sends that user's email to /v1/auth/login with wrong passwords (it
    learns it from GET /v1/me), and ten failures lock the account for 15 minutes (SPEC §5)."""
    email = f"st-logout-{uuid.uuid4().hex}@example.com"
    password = f"logout {uuid.uuid4().hex} session"
    _post("/v1/auth/register", {"email": email, "password": password, "display_name": "st logout"})
    return _post("/v1/auth/login", {"email": email, "password": password})["token"]


def _is_logout(case):
    return case.operation.path == "/v1/auth/logout" and case.method.upper() == "POST"


@schemathesis.auth(refresh_interval=None)
class Bearer:
    def get(self, case, context):
        if _is_logout(case):
            return _fresh_session()
        return TOKEN

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def before_call(context, case, **kwargs):
    headers = case.headers
    if not headers:
        return
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and _is_valid_key(value):
            headers[name] = str(uuid.uuid4())


# 422 codes a schema-valid request gets from a rule the SPEC fixes that JSON Schema cannot
# state: a relation between fields, a fact in the database, or a list the server holds.
BUSINESS_422 = {
    # SPEC §7: the most common passwords are refused (a shipped list, and zxcvbn's estimate).
    "password_too_common",
    # SPEC §7: changing a password needs the current one; st cannot know it.
    "wrong_password",
    # SPEC §2 (Season): open < close <= ends, starts < ends, phases inside [starts, ends),
    # ordered, not overlapping: relations between fields.
    "out_of_order",
    "after_season_end",
    "outside_season",
    "overlaps",
    # SPEC §2: `timezone` is an IANA name: a list the server holds (chrono-tz).
    "invalid_timezone",
    # SPEC §2: the store URL's host is tmall.com or a subdomain of it, landing URLs are on
    # tmall.com/taobao.com: a host-suffix rule on a parsed URL (user info, ports, IDNA, case)
    # that no pattern states without also refusing URLs the server rightly accepts.
    "invalid_store_url",
    "invalid_landing_url",
    # SPEC §7 "times within a sane range": [2000, 2100) as an instant. A date-time with an
    # offset (1999-12-31T23:00:00-05:00 lies inside) cannot be bounded by a pattern.
    "out_of_range",
    # SPEC §2 (Application): starts_at < ends_at and at most 30 days; 18 <= age_min <=
    # age_max <= 65; daily cap <= total: relations between fields.
    "invalid_window",
    "window_too_long",
    "invalid_age_range",
    "exceeds_total",
    # SPEC §5: a member is added by the email of an existing account; applications name an
    # existing brand and season: facts in the database.
    "user_not_found",
    "unknown_brand",
    "unknown_season",
    # SPEC §5 (GET /audit): `since` after `until` is an empty range: a relation between
    # two parameters.
    "invalid_range",
    # SPEC §6: `cursor` is opaque, "the next_cursor of a previous page"; the document gives
    # its alphabet and length, but only the server can tell a cursor it gave out.
    "invalid_cursor",
    # SPEC §3: submit checks the brand, the season and the window against the season.
    "brand_not_eligible",
    "season_not_accepting",
    "window_outside_season",
}

# Codes dropped only as a field's error (in `errors`), never as a problem's own code.
FIELD_ONLY = {"out_of_range"}

# Codes that a rule of the SPEC gives depending on another field's value or on the
# resource's state, per operation. Everywhere else a 422 with these codes means the document
# forgot to say something, and is kept.
CONDITIONAL_422 = {
    # SPEC §3: `reject`/`request_changes` need `reason_code` and `note`; an approval has no
    # reason code.
    ("POST", "/v1/applications/{id}/decision"): {"required", "not_allowed"},
    # SPEC §5: rejecting a brand needs a note.
    ("POST", "/v1/brands/{id}/verification"): {"required"},
    # SPEC §2: "a draft may be incomplete … completeness is checked at submit".
    ("POST", "/v1/applications/{id}/submit"): {"required"},
}


def _problem(response):
    try:
        return json.loads(response.text or "")
    except ValueError:
        return None


# SPEC §7 "URLs are parsed once by one rule and stored normalised": the stored (and answered)
# normal form — the URL standard's serialisation, which adds a `/` to an empty path and
# percent-encodes, up to three characters for one — is held to the documented 2048 too. A
# sent URL can only grow that much past a third of the bound, so `invalid_url` is dropped for
# such long URLs only; a shorter URL refused as `invalid_url` still fails the run.
LONG_URL = 2048 // 3


def _field(body, path):
    """The value at `creative.image_urls[0]` in the request body, or None."""
    value = body
    for part in re.findall(r"[^.\[\]]+", path or ""):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _business(error, case, allowed):
    if not isinstance(error, dict):
        return False
    code = error.get("code")
    if code == "invalid_url":
        value = _field(case.body if isinstance(case.body, dict) else None, error.get("field"))
        return isinstance(value, str) and len(value) > LONG_URL
    return code in allowed


def _only_business_codes(problem, case):
    if not isinstance(problem, dict):
        return False
    allowed = BUSINESS_422 | CONDITIONAL_422.get((case.method.upper(), case.operation.path), set())
    errors = problem.get("errors")
    if isinstance(errors, list) and errors:
        return all(_business(e, case, allowed) for e in errors)
    # The time rule's `out_of_range` is always a field's error. As a problem's own code,
    # with no field, it is the database refusing a value (src/error.rs): a net that no
    # request the document admits should reach, so it is kept.
    return problem.get("code") in allowed - FIELD_ONLY


FILTERED_LOG = os.environ.get("MG_FILTERED_LOG", "")


def _note_dropped(failure, case, response, problem):
    """One line per dropped failure, so run.sh can say what was dropped and how often."""
    if not FILTERED_LOG:
        return
    codes = []
    if isinstance(problem, dict):
        codes = sorted({e.get("code") for e in problem.get("errors") or [] if isinstance(e, dict)}) or [
            problem.get("code")
        ]
    with open(FILTERED_LOG, "a") as f:
        f.write(f"{failure.code} {case.method.upper()} {case.operation.path} {response.status_code} {','.join(map(str, codes))}\n")


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """False drops the failure. Only the exclusions described in run.sh are dropped."""
    if response is None:
        return True
    keep = _keep(failure, case, response)
    if not keep:
        _note_dropped(failure, case, response, _problem(response))
    return keep


def _keep(failure, case, response):
    problem = _problem(response)
    code = problem.get("code") if isinstance(problem, dict) else None
    # positive_data_acceptance and negative_data_rejection: a PATCH whose `If-Match` does not
    # name the current version is 412 `precondition_failed` (SPEC §5: "412 if stale"); st
    # cannot know the version, and the server checks it before the body, so a bad body is
    # refused with 412 too. A refusal either way, of a request st could not make current.
    if failure.code in ("ST201", "ST202") and response.status_code == 412 and code == "precondition_failed":
        return case.method.upper() != "PATCH"
    # positive_data_acceptance: a 422 whose every field error is a business rule above.
    if failure.code == "ST202":
        return not (response.status_code == 422 and _only_business_codes(problem, case))
    # missing_required_header: PATCH without `If-Match` is 428 `precondition_required` by SPEC §5/§6
    # (RFC 6585), which st's default expected statuses (4xx it knows) do not include.
    if failure.code == "ST203":
        header = (getattr(failure, "header_name", "") or "").lower()
        return not (
            header == "if-match"
            and response.status_code == 428
            and isinstance(problem, dict)
            and problem.get("code") == "precondition_required"
        )
    return True
