"""Signs a webhook body the way Stripe does, with Stripe's own library.

stdin: the raw body. argv: secret [timestamp]. stdout: the Stripe-Signature header.
"""
import sys

import stripe

body = sys.stdin.read()
secret = sys.argv[1]
timestamp = int(sys.argv[2]) if len(sys.argv) > 2 else None
print(stripe.WebhookSignature.generate_signature_header(body, secret, timestamp), end="")
