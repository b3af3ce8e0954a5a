import pytest
import torch

from frozensteer.data import recipe

# Small networks: one thread is fastest, and it leaves the other core to the environments.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Every smoke dataset of hopper, built from scratch in a temporary Minari root."""
    root = tmp_path_factory.mktemp("data")
    mp_env = dict(FROZENSTEER_HOME=str(root / "home"), FROZENSTEER_CACHE=str(root / "cache"),
                  MINARI_DATASETS_PATH=str(root / "minari" / "datasets"))
    # The variables are set only while building: were they left set for the session, the
    # chapters that nbval executes after the tests would inherit them and rebuild everything.
    with pytest.MonkeyPatch.context() as mp:
        for key, value in mp_env.items():
            mp.setenv(key, value)
        rows = recipe.build("hopper", "smoke", progress=False)
    return {"root": root, "rows": rows, "mp_env": mp_env}


@pytest.fixture
def env_of(built, monkeypatch):
    for key, value in built["mp_env"].items():
        monkeypatch.setenv(key, value)
    return built
