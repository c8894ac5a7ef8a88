"""Checks delivered webhooks with the standardwebhooks library and Retake's formula.

stdin: JSON list of {"headers": {name: value}, "body": "<raw body>"}.
argv: the endpoint secrets that may have signed (whsec_...).
stdout: JSON list, one {"standard": bool, "retake": bool, "error": str|null} per delivery.
"""
import hashlib
import hmac
import json
import sys

from standardwebhooks.webhooks import Webhook

deliveries = json.load(sys.stdin)
secrets = sys.argv[1:]
results = []
for delivery in deliveries:
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    body = delivery["body"]
    standard, error = False, None
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers)
            standard = True
            break
        except Exception as e:  # the library raises WebhookVerificationError
            error = str(e)
    signature = headers.get("x-webhook-signature", "")
    retake = any(
        hmac.compare_digest(
            signature,
            "sha256=" + hmac.new(s.encode(), body.encode(), hashlib.sha256).hexdigest(),
        )
        for s in secrets
    )
    results.append({"standard": standard, "retake": retake, "error": None if standard else error})
print(json.dumps(results))
