"""Tool choice across participants and the report when none fits (pure, no node)."""

from __future__ import annotations

from pscheduler.tasks.create import no_tool_report, pick_tool


def offer(*tools: str, declined: dict[str, list[str]] | None = None) -> list[dict]:
    """A participant's survey: tools in its preference order; ``declined`` ones cannot run."""
    declined = declined or {}
    return [
        {
            "tool": {"name": name},
            "can-run": {"can-run": name not in declined, "reasons": declined.get(name, [])},
        }
        for name in tools
    ]


def test_one_participant_gets_its_most_preferred_runnable_tool():
    assert pick_tool([("a", offer("iperf3", "iperf2", "nuttcp"))], None) == "iperf3"
    declined = offer("iperf3", "iperf2", declined={"iperf3": ["busy"]})
    assert pick_tool([("a", declined)], None) == "iperf2"


def test_the_lowest_summed_preference_wins_across_participants():
    surveys = [("a", offer("x", "y", "z")), ("b", offer("y", "z", "x"))]
    assert pick_tool(surveys, None) == "y"  # x: 0+2, y: 1+0, z: 2+1


def test_a_tie_goes_to_the_tool_offered_first():
    surveys = [("a", offer("x", "y")), ("b", offer("y", "x"))]
    assert pick_tool(surveys, None) == "x"


def test_a_tool_some_participant_cannot_run_is_out():
    surveys = [("a", offer("x", "y")), ("b", offer("x", "y", declined={"x": ["no"]}))]
    assert pick_tool(surveys, None) == "y"
    assert pick_tool([("a", offer("x")), ("b", offer("y"))], None) is None


def test_wanted_tools_are_tried_in_the_order_given():
    surveys = [("a", offer("x", "y", "z")), ("b", offer("x", "y", "z"))]
    assert pick_tool(surveys, ["z", "y"]) == "z"
    assert pick_tool(surveys, ["nope", "y"]) == "y"


def test_when_no_wanted_tool_can_run_there_is_no_fallback():
    surveys = [("a", offer("x", "y", declined={"y": ["no"]}))]
    assert pick_tool(surveys, ["y"]) is None


def test_no_tool_report_lists_offers_and_declines_with_reasons():
    surveys = [
        ("a.example", offer("x", "y", declined={"y": ["not installed", "too old"]})),
        ("b.example", offer("x", declined={"x": ["busy"]})),
    ]
    assert no_tool_report(surveys) == "\n".join(
        [
            "None of the participants could run this test:",
            "",
            "a.example:",
            "",
            "  Offered",
            "    x",
            "  Declined",
            "    y",
            "      - not installed",
            "      - too old",
            "",
            "b.example:",
            "",
            "  Offered nothing.",
            "  Declined",
            "    x",
            "      - busy",
        ]
    )


def test_no_tool_report_says_when_nothing_was_declined():
    report = no_tool_report([("a", offer("x"))])
    assert report.endswith("a:\n\n  Offered\n    x\n  Declined nothing.")
