"""Independent check of motiond's callback signatures with the PyPI `standardwebhooks` package.

Usage: verify_webhook.py SECRET DELIVERIES.json
DELIVERIES.json: [{"id", "timestamp", "signature", "body"}]. Every delivery must verify; the same
delivery with one byte added to the body, or with a timestamp an hour old, must not.
Prints `verified N` and exits 0, else exits non-zero with the reason on stderr.
"""

import json
import sys
import time

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def refused(wh, body, headers):
    try:
        wh.verify(body, headers)
    except WebhookVerificationError:
        return True
    return False


def main():
    secret, path = sys.argv[1], sys.argv[2]
    wh = Webhook(secret)
    ok = 0
    for c in json.load(open(path)):
        headers = {
            "webhook-id": c["id"],
            "webhook-timestamp": c["timestamp"],
            "webhook-signature": c["signature"],
        }
        wh.verify(c["body"], headers)
        ok += 1
        if not refused(wh, c["body"] + " ", headers):
            sys.exit(f"tampered body verified: {c['id']}")
        old = dict(headers, **{"webhook-timestamp": str(int(time.time()) - 3600)})
        if not refused(wh, c["body"], old):
            sys.exit(f"hour-old timestamp verified: {c['id']}")
    print(f"verified {ok}")


main()
