"""The tracing shapes users copy from the OpenTelemetry Python getting-started guides, sent to spanmeter.

    python sdk_shapes.py --protocol grpc --endpoint http://127.0.0.1:4317 --service NAME [--items N] [--gzip]
    python sdk_shapes.py --protocol http --endpoint http://127.0.0.1:4318/v1/traces --service NAME ...

What it sends (test/interop/python-sdk.test.ts counts on exactly this), all spans of kind
INTERNAL, the SDK's default for `start_as_current_span`:
  - "process-batch": one span around a batch of work, status UNSET;
  - "process-item": one child span per item, N of them (default 7), status UNSET;
  - "charge-card": one span whose ValueError is recorded with span.record_exception(ex) and
    span.set_status(Status(StatusCode.ERROR, str(ex))), status ERROR.
Then force_flush() and shutdown(), as a short-lived program must. It exits 1 when the SDK
logged an export failure (it logs and drops rather than raising), 0 otherwise.
"""

import argparse
import logging
import sys
import time

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode


class _ExportErrors(logging.Handler):
    """Counts the warnings and errors the SDK and its exporters log (export failures among them)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        sys.stderr.write(f"sdk_shapes: {record.name}: {record.getMessage()}\n")


def make_exporter(protocol: str, endpoint: str, gzip: bool):
    if protocol == "grpc":
        import grpc
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(
            endpoint=endpoint,
            insecure=True,
            compression=grpc.Compression.Gzip if gzip else None,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(
        endpoint=endpoint,
        compression=Compression.Gzip if gzip else None,
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", choices=["grpc", "http"], required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--items", type=int, default=7)
    ap.add_argument("--gzip", action="store_true")
    args = ap.parse_args()

    errors = _ExportErrors()
    logging.getLogger("opentelemetry").addHandler(errors)

    provider = TracerProvider(resource=Resource.create({"service.name": args.service}))
    provider.add_span_processor(BatchSpanProcessor(make_exporter(args.protocol, args.endpoint, args.gzip)))
    trace.set_tracer_provider(provider)
    tracer = trace.get_tracer("spanmeter.interop.sdk_shapes")

    with tracer.start_as_current_span("process-batch") as batch:
        batch.set_attribute("batch.size", args.items)
        for i in range(args.items):
            with tracer.start_as_current_span("process-item") as item:
                item.set_attribute("item.index", i)
                time.sleep(0.001)

    with tracer.start_as_current_span("charge-card") as span:
        try:
            raise ValueError("card declined")
        except ValueError as ex:
            span.record_exception(ex)
            span.set_status(Status(StatusCode.ERROR, str(ex)))

    flushed = provider.force_flush()
    provider.shutdown()
    if not flushed:
        sys.stderr.write("sdk_shapes: force_flush timed out\n")
        return 1
    if errors.count:
        sys.stderr.write(f"sdk_shapes: {errors.count} warning(s)/error(s) logged by the SDK\n")
        return 1
    print(f"sdk_shapes: sent {args.items + 2} spans over {args.protocol}{' (gzip)' if args.gzip else ''} as {args.service}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
