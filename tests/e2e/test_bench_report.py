"""`hotrod bench` against a running `hotrod serve` on the default model (issue 7): the text report has every
section of the published benchmark's layout, the verdict and the summary, and the JSON/HTML outputs are written
with every raw sample. Few rounds: this checks the report, not the speed."""
import json
import subprocess

from conftest import HOTROD, REPO


def test_bench_against_hotrod_serve_has_every_section(server, tmp_path):
    workload = REPO.parent / "shared" / "workloads" / "phase_classification.json"
    if not workload.exists():
        import pytest
        pytest.skip(f"no workload at {workload}")
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    proc = subprocess.run(
        [str(HOTROD), "bench", "--workload", str(workload), "--target", f"hotrod={server.url}",
         "--target", f"again={server.url}", "--schema", "--rounds", "1", "--sequential-calls", "2",
         "--calls-per-slot", "1", "--json", str(out_json), "--html", str(out_html)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = proc.stdout
    for section in ("HEAD-TO-HEAD", "TEST 1: Latency by payload size", "TEST 2: Sequential throughput",
                    "TEST 3a: Concurrent throughput (2 slots", "TEST 3b: Concurrent throughput (4 slots",
                    "TEST 4: Output quality", "Time to first token and decode rate", "VERDICT", "SUMMARY",
                    "Schema: sent"):
        assert section in report, f"missing section {section!r} in:\n{report}"
    for payload in ("small", "medium", "large"):
        assert f"Payload: {payload}" in report
    data = json.loads(out_json.read_text())
    names = [t["name"] for t in data["targets"]]
    assert names == ["hotrod", "again"]
    for t in data["targets"]:
        assert t["alive"]
        assert t["samples"] and all(s["http_status"] == 200 for s in t["samples"])
        assert all(s["valid"] for s in t["samples"]), [s["content"] for s in t["samples"] if not s["valid"]]
    html = out_html.read_text()
    assert html.count("<svg") >= 3 and "<script src=" not in html  # self-contained charts
