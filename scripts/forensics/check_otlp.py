"""Parses every line of an OTLP bundle with opentelemetry-proto's own
ExportLogsServiceRequest (unknown fields rejected), then checks what the
OTLP/JSON encoding adds to the proto3 mapping: trace and span ids in hex.

usage: python3 check_otlp.py BUNDLE/otlp.jsonl   (needs `pip install opentelemetry-proto`)"""
import json, sys, re
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

n = 0
with open(sys.argv[1]) as f:
    for line in f:
        d = json.loads(line)
        recs = d["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
        for r in recs:
            assert re.fullmatch(r"[0-9a-f]{32}", r["traceId"]), r["traceId"]
            if "spanId" in r:
                assert re.fullmatch(r"[0-9a-f]{16}", r["spanId"]), r["spanId"]
            # proto3 JSON reads bytes as base64: drop the hex ids before parsing.
            r.pop("traceId"); r.pop("spanId", None)
        req = json_format.Parse(json.dumps(d), ExportLogsServiceRequest(), ignore_unknown_fields=False)
        lr = req.resource_logs[0].scope_logs[0].log_records[0]
        assert lr.time_unix_nano > 0 and lr.severity_number > 0 and lr.body.string_value
        n += 1
print(f"{n} OTLP requests parse as ExportLogsServiceRequest")
