"""The scenario language: schema (pydantic), loading with located errors, the horizon as arrays."""

from hyperplan.scenario.load import load_scenario
from hyperplan.scenario.schema import Scenario
from hyperplan.scenario.timeline import Timeline, expand_series, timeline

__all__ = ["Scenario", "Timeline", "expand_series", "load_scenario", "timeline"]
