"""Tests for the API server's Prometheus metrics (mizzen.apiserver.metrics)."""

from __future__ import annotations

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from mizzen.apiserver import metrics
from mizzen.apiserver.metrics import REQUEST_BUCKETS, ApiMetrics

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(metrics: ApiMetrics) -> Samples:
    """Parse render() output the way a Prometheus scraper would."""
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=0.0.4")
    out: Samples = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def test_requests_are_counted_and_timed_per_label_set() -> None:
    m = ApiMetrics()
    m.observe_request("GET", "pods", "", 200, 0.002)
    m.observe_request("GET", "pods", "", 200, 0.004)
    m.observe_request("GET", "pods", "", 404, 0.001)
    m.observe_request("PATCH", "deployments", "status", 200, 2.0)

    s = scrape(m)
    req = "apiserver_request_total"
    assert s[key(req, verb="GET", resource="pods", subresource="", code="200")] == 2
    assert s[key(req, verb="GET", resource="pods", subresource="", code="404")] == 1
    assert s[key(req, verb="PATCH", resource="deployments", subresource="status", code="200")] == 1

    dur = "apiserver_request_duration_seconds"
    pods = {"verb": "GET", "resource": "pods", "subresource": ""}
    assert s[key(f"{dur}_count", **pods)] == 3  # the code is not a latency label
    assert abs(s[key(f"{dur}_sum", **pods)] - 0.007) < 1e-9
    assert s[key(f"{dur}_bucket", **pods, le="0.0005")] == 0
    assert s[key(f"{dur}_bucket", **pods, le="0.001")] == 1
    assert s[key(f"{dur}_bucket", **pods, le="0.0025")] == 2
    assert s[key(f"{dur}_bucket", **pods, le="0.005")] == 3
    assert s[key(f"{dur}_bucket", **pods, le="+Inf")] == 3
    status = {"verb": "PATCH", "resource": "deployments", "subresource": "status"}
    assert s[key(f"{dur}_bucket", **status, le="1.0")] == 0
    assert s[key(f"{dur}_bucket", **status, le="2.5")] == 1


def test_public_api() -> None:
    assert sorted(metrics.__all__) == ["ApiMetrics", "REQUEST_BUCKETS"]


def test_latency_buckets_span_half_a_millisecond_to_a_minute() -> None:
    assert REQUEST_BUCKETS[0] == 0.0005
    assert REQUEST_BUCKETS[-1] == 60.0
    assert list(REQUEST_BUCKETS) == sorted(REQUEST_BUCKETS)


def test_label_children_are_cached() -> None:
    m = ApiMetrics()
    m.observe_request("LIST", "pods", "", 200, 0.01)
    cached = dict(m._request_children)
    m.observe_request("LIST", "pods", "", 200, 0.01)
    assert m._request_children.keys() == cached.keys()
    for k, children in cached.items():
        assert m._request_children[k][0] is children[0]
        assert m._request_children[k][1] is children[1]


def test_watch_gauges_follow_start_and_stop() -> None:
    m = ApiMetrics()
    m.watch_started("pods")
    m.watch_started("pods")
    m.watch_started("services")
    m.watch_stopped("pods")
    m.watch_events("pods", 5)
    m.watch_events("pods", 2)
    m.watch_events("services", 0)

    s = scrape(m)
    assert s[key("apiserver_registered_watchers", resource="pods")] == 1
    assert s[key("apiserver_registered_watchers", resource="services")] == 1
    assert s[key("apiserver_longrunning_requests", verb="WATCH", resource="pods")] == 1
    assert s[key("apiserver_watch_events_total", resource="pods")] == 7
    assert key("apiserver_watch_events_total", resource="services") not in s


def test_storage_commits_and_object_counts() -> None:
    m = ApiMetrics()
    m.observe_commit(3, 0.002)
    m.observe_commit(10, 0.004)
    m.set_object_count("pods", 12)
    m.set_object_count("pods", 11)
    m.set_object_count("configmaps", 4)

    s = scrape(m)
    assert s[key("mizzen_storage_commits_total")] == 2
    assert s[key("mizzen_storage_committed_writes_total")] == 13
    assert s[key("mizzen_storage_commit_duration_seconds_count")] == 2
    assert abs(s[key("mizzen_storage_commit_duration_seconds_sum")] - 0.006) < 1e-9
    assert s[key("mizzen_storage_commit_batch_size_bucket", le="4.0")] == 1
    assert s[key("mizzen_storage_commit_batch_size_bucket", le="16.0")] == 2
    assert s[key("mizzen_storage_commit_batch_size_sum")] == 13
    assert s[key("apiserver_storage_objects", resource="pods")] == 11
    assert s[key("apiserver_storage_objects", resource="configmaps")] == 4


def test_render_exposes_help_and_type_lines() -> None:
    body, _ = ApiMetrics().render()
    text = body.decode("utf-8")
    assert "# TYPE apiserver_request_total counter" in text
    assert "# TYPE apiserver_request_duration_seconds histogram" in text
    assert "# TYPE apiserver_registered_watchers gauge" in text
    assert "# TYPE mizzen_storage_commit_batch_size histogram" in text


def test_instances_do_not_share_state() -> None:
    a, b = ApiMetrics(), ApiMetrics()
    assert a.registry is not b.registry
    a.observe_request("GET", "pods", "", 200, 0.01)
    a.watch_started("pods")
    a.observe_commit(1, 0.001)
    a.set_object_count("pods", 3)

    sb = scrape(b)
    get_pods = {"verb": "GET", "resource": "pods", "subresource": "", "code": "200"}
    assert key("apiserver_request_total", **get_pods) not in sb
    assert key("apiserver_registered_watchers", resource="pods") not in sb
    assert sb[key("mizzen_storage_commits_total")] == 0
    assert scrape(a)[key("mizzen_storage_commits_total")] == 1
    # Nothing leaks into the library's process-wide default registry either.
    assert prometheus_client.REGISTRY.get_sample_value("mizzen_storage_commits_total") is None
