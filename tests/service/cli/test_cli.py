"""The `ms-backpain-cds` command: offline evaluation, the sample list, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli.main import main
from service.demo.samples import load_bundle

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / "examples" / "patient-view.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evaluate_a_request_prints_the_cds_hooks_response(capsys) -> None:
    code, out, err = run(capsys, "evaluate", str(EXAMPLE), "--json")
    assert code == 0 and err == ""
    cards = json.loads(out)["cards"]
    assert any("spasticity" in c["summary"].lower() for c in cards)
    assert all(c["uuid"] and c["source"]["label"] for c in cards)


def test_evaluate_text_view_shows_indicator_summary_and_evidence(capsys) -> None:
    code, out, _ = run(capsys, "evaluate", str(EXAMPLE))
    assert code == 0
    assert "[INFO]" in out
    assert "Why this card" in out
    assert "279039007" in out  # the low back pain evidence


def test_evaluate_a_sample_patient_by_name(capsys) -> None:
    code, out, _ = run(capsys, "evaluate", "ms-cauda-equina", "--json")
    assert code == 0
    cards = json.loads(out)["cards"]
    assert cards[0]["indicator"] == "critical"


def test_evaluate_a_bundle_file_with_an_order_file(capsys, tmp_path: Path) -> None:
    bundle = tmp_path / "patient.json"
    bundle.write_text(json.dumps(load_bundle("ms-acute-lbp")))
    order = tmp_path / "order.json"
    order.write_text(
        json.dumps(
            {
                "resourceType": "ServiceRequest",
                "id": "draft-mri",
                "status": "draft",
                "intent": "order",
                "code": {
                    "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}],
                    "text": "MRI lumbar spine without contrast",
                },
            }
        )
    )
    code, out, _ = run(
        capsys, "evaluate", str(bundle), "--hook", "order-sign", "--orders", str(order), "--json"
    )
    assert code == 0
    cards = json.loads(out)["cards"]
    warning = [c for c in cards if "draft-mri" in c.get("detail", "")]
    assert warning and warning[0]["indicator"] == "warning"


def test_evaluate_a_sample_with_a_named_sample_order(capsys) -> None:
    code, out, _ = run(
        capsys, "evaluate", "ms-tizanidine-cipro", "--orders", "tizanidine", "--json"
    )
    assert code == 0
    assert json.loads(out)["cards"][0]["indicator"] == "critical"


def test_evaluate_reports_missing_prefetch_keys(capsys, tmp_path: Path) -> None:
    request = json.loads(EXAMPLE.read_text())
    del request["prefetch"]["egfr"]
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    code, _, err = run(capsys, "evaluate", str(path), "--json")
    assert code == 0
    assert "egfr" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"hook": "patient-view", "hookInstance": "x", "context": {}}', "context.patientId"),
        ('{"hook": "no-such-hook"}', "no service for hook"),
    ],
)
def test_evaluate_bad_input_exits_with_a_message(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(path)])
    assert message in str(exc.value)


def test_evaluate_unknown_sample_names_the_problem() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "no-such-patient"])
    assert "neither a JSON file nor a sample patient" in str(exc.value)


def test_samples_lists_patients_and_orders(capsys) -> None:
    code, out, _ = run(capsys, "samples")
    assert code == 0
    assert "ms-acute-lbp" in out and "lumbar-mri" in out


@pytest.mark.parametrize(("workers", "loop"), [("1", "asyncio"), ("2", "uvloop")])
def test_serve_picks_the_event_loop_by_the_number_of_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workers: str, loop: str
) -> None:
    """One worker: the standard loop (uvloop made one request in 16 wait a second round under
    load); several: uvloop, which spreads connections over them (docs/performance.md)."""
    from service.http import shutdown

    ran: dict[str, object] = {}
    monkeypatch.setattr(shutdown, "run", lambda app, **kwargs: ran.update(kwargs))
    monkeypatch.setenv("MSCDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MSCDS_AUTH", "off")
    monkeypatch.setenv("MSCDS_PORT", "8765")  # --workers 2 passes overrides on in the environment
    assert main(["serve", "--workers", workers]) == 0
    assert ran["loop"] == loop
