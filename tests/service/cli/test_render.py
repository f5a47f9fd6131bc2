"""The text view of a CDS Hooks response: what a clinician would read on the cards."""

from __future__ import annotations

from service.cli.render import render_text

RESPONSE = {
    "cards": [
        {
            "uuid": "6f1c0a52-0000-4000-8000-000000000001",
            "summary": "Possible cauda equina syndrome: evaluate urgently before treating pain",
            "indicator": "critical",
            "source": {"label": "MS back pain treatment guide", "url": "https://example.org/g"},
            "detail": (
                "**Red flag present.**\n\n"
                "### What to do\n- Urgent MRI of the spine\n\n"
                "### Cautions for this patient\n- Urinary retention alone is common in MS\n\n"
                "### Why this card\n"
                "- Cauda equina syndrome (ICD-10-CM G83.4), 2026-03-14 [Condition/c1]\n"
                "- Low back pain (SNOMED 279039007), 2026-03-11 [Condition/c2]"
            ),
            "selectionBehavior": "at-most-one",
            "suggestions": [
                {
                    "label": "Order an urgent MRI of the lumbar spine",
                    "uuid": "s1",
                    "isRecommended": True,
                    "actions": [
                        {
                            "type": "create",
                            "description": "Propose MRI lumbar spine (urgent)",
                            "resource": {"resourceType": "ServiceRequest"},
                        }
                    ],
                }
            ],
            "overrideReasons": [
                {"code": "already-addressed", "system": "urn:x", "display": "Already addressed"}
            ],
        },
        {
            "summary": "Remove the lumbar MRI order",
            "indicator": "warning",
            "detail": "Imaging is **not** indicated. See [ACP](https://acp.example/lbp).",
            "suggestions": [
                {
                    "label": "Remove the MRI order",
                    "actions": [
                        {
                            "type": "delete",
                            "description": "Remove draft",
                            "resourceId": "ServiceRequest/x",
                        }
                    ],
                }
            ],
            "links": [
                {"label": "ACP guideline", "url": "https://acp.example/lbp", "type": "absolute"}
            ],
        },
    ]
}


def test_cards_show_indicator_summary_evidence_and_suggestions():
    text = render_text(RESPONSE)
    lines = text.splitlines()
    assert lines[0] == (
        "1. [CRITICAL] Possible cauda equina syndrome: evaluate urgently before treating pain"
    )
    assert "  Source: MS back pain treatment guide" in lines
    why = lines.index("  Why this card:")
    assert lines[why + 1] == (
        "    - Cauda equina syndrome (ICD-10-CM G83.4), 2026-03-14 [Condition/c1]"
    )
    assert lines[why + 2].startswith("    - Low back pain (SNOMED 279039007)")
    assert "    - Urinary retention alone is common in MS" in lines
    assert "  Suggestions (at-most-one):" in lines
    assert "    * Order an urgent MRI of the lumbar spine (recommended)" in lines
    assert "      -> create ServiceRequest: Propose MRI lumbar spine (urgent)" in lines
    assert "  Override reasons: Already addressed" in lines
    assert "Urgent MRI of the spine" not in text  # the 'what to do' list stays in the card


def test_detail_without_a_why_section_is_shown_as_plain_text():
    text = render_text(RESPONSE)
    assert "2. [WARNING] Remove the lumbar MRI order" in text
    assert "  Imaging is not indicated. See ACP (https://acp.example/lbp)." in text
    assert "      -> delete ServiceRequest/x: Remove draft" in text
    assert "  Link: ACP guideline <https://acp.example/lbp>" in text
    assert text.index("[CRITICAL]") < text.index("[WARNING]")


def test_no_cards():
    assert render_text({"cards": []}) == "No cards.\n"
    assert render_text({}) == "No cards.\n"


def test_malformed_parts_do_not_crash():
    text = render_text(
        {
            "cards": [
                "oops",
                {"suggestions": [{"actions": ["x", {}]}], "detail": 5, "links": [{}]},
            ],
            "systemActions": [{"type": "update", "resource": {"resourceType": "ServiceRequest"}}],
        }
    )
    assert "1. (malformed card)" in text
    assert "2. [?] (no summary)" in text
    assert "(malformed action)" in text
    assert "System actions:\n  -> update ServiceRequest" in text


def test_long_lines_wrap_to_the_width():
    card = {"summary": "word " * 60, "indicator": "info"}
    assert all(len(line) <= 60 for line in render_text({"cards": [card]}, width=60).splitlines())


def test_resource_ids_are_not_broken_at_hyphens():
    card = {
        "summary": "s",
        "indicator": "info",
        "detail": "### Why this card\n- Chronic low back pain (SNOMED CT 278860009), 2026-03-21 "
        "[Condition/cond-ms-older-tca-clbp]",
    }
    text = render_text({"cards": [card]}, width=60)
    assert "[Condition/cond-ms-older-tca-clbp]" in text
