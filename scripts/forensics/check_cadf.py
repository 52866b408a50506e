"""Validates every line of a CADF bundle with pycadf's own model: each
attribute is set through pycadf's validating descriptors, then is_valid().

usage: python3 -W error check_cadf.py BUNDLE/cadf.jsonl   (needs `pip install pycadf`)
Warnings are errors: pycadf only warns about an identifier that is not a UUID."""
import json, sys, warnings
from pycadf import event, resource, reason, attachment, measurement, metric, host, cadftaxonomy

def res(d):
    r = resource.Resource(id=d["id"], typeURI=d["typeURI"], name=d.get("name"))
    if "host" in d:
        r.host = host.Host(agent=d["host"].get("agent"))
    assert r.is_valid(), d
    assert cadftaxonomy.is_valid_resource(d["typeURI"]), d["typeURI"]
    return r

n = 0
warnings.simplefilter("error")  # pycadf warns on ids that are not UUIDs
with open(sys.argv[1]) as f:
    lines = f.readlines()
for line in lines:
    d = json.loads(line)
    assert d["typeURI"] == event.TYPE_URI_EVENT, d["typeURI"]
    e = event.Event(eventType=d["eventType"], id=d["id"], eventTime=d["eventTime"],
                    action=d["action"], outcome=d["outcome"],
                    initiator=res(d["initiator"]), target=res(d["target"]),
                    observer=res(d["observer"]))
    if "reason" in d:
        e.reason = reason.Reason(reasonType=d["reason"]["reasonType"], reasonCode=d["reason"]["reasonCode"])
    for m in d.get("measurements", []):
        mt = metric.Metric(metricId=m["metric"]["metricId"], unit=m["metric"]["unit"], name=m["metric"]["name"])
        e.add_measurement(measurement.Measurement(result=m["result"], metric=mt))
    for a in d["attachments"]:
        e.add_attachment(attachment.Attachment(typeURI=a["typeURI"], content=a["content"], name=a["name"]))
    for t in d["tags"]:
        e.add_tag(t)
    assert e.is_valid(), line
    assert cadftaxonomy.is_valid_action(d["action"]) and cadftaxonomy.is_valid_outcome(d["outcome"])
    n += 1
print(f"{n} CADF events valid per pycadf")
