"""Test-session settings: hypothesis runs derandomized in CI (CI=true), so a CI run is
reproducible; locally it explores new examples each run."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
