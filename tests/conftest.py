"""Test-session settings: hypothesis runs derandomized in CI (CI=true), so a CI run is
reproducible; locally it explores new examples each run.  Shared fixtures: one torch thread
for the torch tests."""
import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a test module, the count restored afterwards: tiny models run
    faster on one thread and are immune to oversubscribed cores.  A module opts in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
