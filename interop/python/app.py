"""A small two-service web shop, traced only by `opentelemetry-instrument` (no tracing code here).

    APP_ROLE=backend  APP_PORT=P2 opentelemetry-instrument ... python app.py
    APP_ROLE=frontend APP_PORT=P1 BACKEND_URL=http://127.0.0.1:P2 \
        opentelemetry-instrument --traces_exporter otlp --service_name my-python-service python app.py

The telemetry is configured the way the OpenTelemetry Python docs show it: the command line
above and OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
OTEL_SERVICE_NAME, OTEL_METRICS_EXPORTER=none, ...). APP_* only say which half of the shop this
process is and where it listens (loopback only).

  frontend  GET /checkout/<int:item_id>  asks the backend for the item's stock with `requests`;
            200 when the backend answers 200, 502 when it answers 5xx.
  backend   GET /inventory/<int:item_id>  200 with the stock; 500 for item 13 (out of stock, on
            purpose: the test's failing requests).

Traced by opentelemetry-instrumentation-flask (a SERVER span "GET <url rule>" per request) and
opentelemetry-instrumentation-requests (a CLIENT span "GET" per outgoing call, which also
injects the traceparent header the backend's SERVER span continues).
"""

import os
import sys

import requests
from flask import Flask

ROLE = os.environ.get("APP_ROLE", "")
PORT = int(os.environ.get("APP_PORT", "0"))
BACKEND_URL = os.environ.get("BACKEND_URL", "")
OUT_OF_STOCK = 13

app = Flask(__name__)

if ROLE == "backend":

    @app.get("/inventory/<int:item_id>")
    def inventory(item_id: int):
        if item_id == OUT_OF_STOCK:
            return {"item": item_id, "error": "out of stock"}, 500
        return {"item": item_id, "stock": 3}

elif ROLE == "frontend":
    session = requests.Session()

    @app.get("/checkout/<int:item_id>")
    def checkout(item_id: int):
        answer = session.get(f"{BACKEND_URL}/inventory/{item_id}", timeout=10)
        if answer.status_code >= 500:
            return {"item": item_id, "error": "backend failed"}, 502
        return {"item": item_id, "ordered": True, "stock": answer.json()["stock"]}

else:
    sys.exit(f"app.py: APP_ROLE must be frontend or backend, not {ROLE!r}")

if __name__ == "__main__":
    if not PORT:
        sys.exit("app.py: APP_PORT is not set")
    if ROLE == "frontend" and not BACKEND_URL:
        sys.exit("app.py: BACKEND_URL is not set")
    # Werkzeug's server, threaded, no reloader (a reloader would run the app in a second process).
    app.run(host="127.0.0.1", port=PORT, threaded=True, use_reloader=False)
