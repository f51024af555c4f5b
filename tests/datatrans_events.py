"""Datatrans's transactions and webhooks as Datatrans documents them, for the stand-in (``tests.datatrans_standin``)
and the tests.

The shapes come from the JSON under ``tests/fixtures/datatrans/`` (written from the examples of Datatrans's API
reference: init, a transaction's status, a credit, an error); the builders below copy a fixture and set what a test
needs. A webhook's body is a transaction's status; it is signed as Datatrans signs it: ``Datatrans-Signature:
t=<ms>,s0=<hex>``, s0 the HMAC-SHA256, keyed by the hex-decoded HMAC key, of t followed by the raw body.

No Django here: the stand-in and these builders also run outside the tests.
"""

import copy
import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import secrets
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "datatrans"
HEADER = "Datatrans-Signature"

CARD_METHODS = ("VIS", "ECA", "AMX")
# The payment method codes Datatrans knows (API reference: InitRequest.paymentMethods, StatusResponse.paymentMethod)
PAYMENT_METHODS = frozenset(
    re.findall(
        r"[A-Z]{3}",
        """ACC ALP APL AMX AZP BAC BON CBL CFY CSY CUP DEA DIN DII DIB DIS DNK ECA ELV EPS ESY GFT GPA HPC INT JCB JEL
        KLN MAU MDP MFA MFX MPA MFG MPG MPX MYO PAP PAY PEF PFC PSC REK SAM SWB SCX SWP TWI UAP VIS WEC SWH VPS MBP CUV
        GEP PLU DVI""",
    )
)
# Why a transaction failed (API reference: FailDetail.reason)
FAIL_REASONS = (
    "card_invalid",
    "declined",
    "soft_declined",
    "incomplete",
    "timeout",
    "invalid_setup",
    "secure_authentication",
    "error_on_start",
    "referral",
    "error",
)
TEST_CARDS = {  # Datatrans's test cards, masked as its status shows them
    "VIS": "490000xxxxxx0004",
    "ECA": "520000xxxxxx0007",
    "AMX": "375811xxxxx1000",
}


@functools.cache
def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def fixture(name: str) -> dict:
    """A fresh copy of ``tests/fixtures/datatrans/<name>.json``."""
    return copy.deepcopy(_fixture(name))


def now_ms() -> int:
    return int(time.time() * 1000)


def new_transaction_id() -> str:
    """An id in Datatrans's style: 18 digits, the date and time first."""
    return dt.datetime.now(dt.UTC).strftime("%y%m%d%H%M%S") + f"{secrets.randbelow(10**6):06d}"


def date(at: float | None = None) -> str:
    """A date as Datatrans's status API writes it in a transaction's history and ``detail.init.expires``: to the
    second (``2024-07-10T12:14:20Z``, the API reference's example ``statusResponse``), so two changes within one
    second have the same date."""
    moment = dt.datetime.fromtimestamp(time.time() if at is None else at, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def history(action: str, amount: int, *, source: str = "api", success: bool = True, **extra) -> dict:
    return {"action": action, "amount": amount, "source": source, "date": date(), "success": success, **extra}


def transaction(**fields) -> dict:
    """A payment transaction's status (by default a settled Visa payment of CHF 10.–), with ``fields`` set."""
    tx = fixture("transaction_payment")
    tx.update(transactionId=new_transaction_id())
    tx.update(fields)
    return tx


def credit(original: dict, amount: int, **fields) -> dict:
    """The status of a credit of ``original``: a transaction of its own, with the original's refno and method."""
    tx = fixture("transaction_credit")
    tx.update(
        transactionId=new_transaction_id(),
        merchantId=original.get("merchantId", tx["merchantId"]),
        currency=original["currency"],
        refno=original["refno"],
        paymentMethod=original.get("paymentMethod", tx["paymentMethod"]),
        detail={"credit": {"amount": amount}, "settle": {"amount": amount}},
        history=[history("credit", amount)],
    )
    if "card" in original:
        tx["card"] = {key: original["card"][key] for key in ("masked", "expiryMonth", "expiryYear")}
    else:
        tx.pop("card", None)
    tx.update(fields)
    return tx


def error(message: str, code: str = "INVALID_PROPERTY") -> dict:
    """Datatrans's error body: ``{"error": {"code": …, "message": …}}``."""
    return {"error": {"code": code, "message": message}}


def payload(tx: dict) -> bytes:
    """The body Datatrans posts: the transaction's status as JSON."""
    return json.dumps(tx).encode()


def signature(body: bytes, key_hex: str, timestamp_ms: int) -> str:
    return hmac.new(bytes.fromhex(key_hex), str(timestamp_ms).encode() + body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, key_hex: str, timestamp_ms: int | None = None) -> str:
    """The ``Datatrans-Signature`` header of a body, signed at ``timestamp_ms`` (now)."""
    timestamp_ms = now_ms() if timestamp_ms is None else timestamp_ms
    return f"t={timestamp_ms},s0={signature(body, key_hex, timestamp_ms)}"


def signed(tx: dict, key_hex: str, timestamp_ms: int | None = None) -> tuple[bytes, dict]:
    """(raw body, headers) of a webhook delivery of ``tx``."""
    body = payload(tx)
    headers = {"Content-Type": "application/json", HEADER: signature_header(body, key_hex, timestamp_ms)}
    return body, headers
