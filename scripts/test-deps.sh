#!/usr/bin/env bash
# Installs the test peers into the project-local .tools/ folder (idempotent):
# maildev 3.0.0, a real SMTP server with an HTTP API to read mail back, and
# nodemailer's smtp-server for the STARTTLS peer (tests/peers/starttls-smtp.js).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .tools/maildev/node_modules/.bin/maildev ] \
    || [ ! -f .tools/maildev/node_modules/smtp-server/package.json ]; then
    mkdir -p .tools/maildev
    npm install --prefix .tools/maildev maildev@3.0.0 smtp-server@3.21.6 --no-audit --no-fund --loglevel=error
fi

# moto's server mode: a local AWS endpoint for the SES v2 adapter's tests.
if [ ! -x .tools/moto/bin/moto_server ]; then
    python3 -m venv .tools/moto
    .tools/moto/bin/python -m pip install --quiet --disable-pip-version-check 'moto[server]>=5,<6'
fi

# Independent checks of our signatures: Standard Webhooks' own verifier and
# Stripe's own signer (tests/peers/*.py run them from this venv).
if ! .tools/moto/bin/python -c 'import standardwebhooks, stripe; stripe.WebhookSignature.generate_signature_header' 2>/dev/null; then
    .tools/moto/bin/python -m pip install --quiet --disable-pip-version-check \
        'standardwebhooks>=1.0,<2' 'stripe>=16.1,<17'
fi

# Schemathesis fuzzes the api against its own /openapi.json (tests/tests/openapi.rs).
if [ ! -x .tools/moto/bin/schemathesis ]; then
    .tools/moto/bin/python -m pip install --quiet --disable-pip-version-check 'schemathesis>=4.0,<5'
fi

# The experiments' statistics are checked against statsmodels and scipy
# (tests/tests/api/experiment_stats.rs runs tests/peers/experiment_stats.py).
# `python -m pip`, not bin/pip: pip's script keeps the absolute path of the venv
# it was made in, so in a copied .tools/ it would install into the original.
if ! .tools/moto/bin/python -c 'import statsmodels, scipy' 2>/dev/null; then
    .tools/moto/bin/python -m pip install --quiet --disable-pip-version-check \
        'numpy==2.2.6' 'scipy==1.15.3' 'pandas==2.2.3' 'statsmodels==0.14.6'
fi

# The dashboard's browser test (tests/tests/dashboard_browser.rs runs
# tests/browser/dashboard.spec.mjs): Debian's chromium, driven by playwright-core
# (which downloads no browser of its own), and axe-core for accessibility checks.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is missing: install Debian's chromium package (apt-get install chromium)" >&2
        exit 1
    fi
fi
if [ ! -f .tools/browser/node_modules/playwright-core/package.json ] \
    || [ ! -f .tools/browser/node_modules/axe-core/axe.min.js ]; then
    mkdir -p .tools/browser
    npm install --prefix .tools/browser playwright-core@1.65.1 axe-core@4.14.1 --no-audit --no-fund --loglevel=error
fi
