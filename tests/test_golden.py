"""Golden results: the data files of a few small runs, byte for byte, as the code gave them before the
package was split into layers (recorded at 5ed96ee; double11 again when its live streams and its
presale add-on coupons were added).

A change that is meant to leave results alone (a refactor, a speed change) must keep these hashes. A change
that alters results on purpose (a new random draw, a modelling fix) updates them in the same commit and says
why; every oracle test must still pass. The runs go through the CLI, so the writers are covered too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main

ROOT = Path(__file__).resolve().parent.parent
FILES = ("summary.json", "timeseries.csv", "latency.csv")

GOLDEN = {
    "thursday": (
        ["xiaomi-thursday-flash.yaml", "--set", "audience.size=5k", "--replications", "1"],
        (
            "8ffb4b1716ef9b6420137d5a4820594676657dcccd085f8b889145449459c5f7",
            "23485dc8c44ddda036a776ff2f31698dfb28b7b639e10748ea32c0fb6c0fc4f2",
            "70d4d271ce3c5d968d88fe099029fae5d394aad1d529e4436019c070e428c12c",
        ),
    ),
    "thursday-stock-response": (  # transfers and substitutes fire
        ["xiaomi-thursday-flash.yaml", "--set", "audience.size=5k", "--replications", "1", "--plan", "stock-response"],
        (
            "21cfa7566788866eec023caf0d435c0ac9b37d74ef5258f417fecfdde6af123a",
            "c9a3c55b6b95a73f7082bfcb5e79dba8b4e7111173bcf19f790bde6ef99dae76",
            "81815a28ad3178316761e14dcfc8d2f7d1ac3b3e6c9e6606c8dbea0a652e07b0",
        ),
    ),
    "thursday-queue-on-overload": (  # an error-rate rule switches the waiting room on mid-sale
        [
            "xiaomi-thursday-flash.yaml",
            "--set",
            "audience.size=5k",
            "--set",
            "system.pools.web.workers=4",
            "--plan",
            "queue-on-overload",
            "--replications",
            "1",
        ],
        (
            "c39a54d6a09a514cc6880434234aa89941edd42d01f16b306c6fb06401af785c",
            "02aee9a64dd4fd45c2dbda2bdd6e737d50563ae03e6c47dc5adf8f7d499b2722",
            "1de6b801c81fb2a0ce8d0ff3c70c1ce62e185db3f9dcce4bec8f4c068b2895b5",
        ),
    ),
    "double11": (  # presale balance day, three rains, live streams, the contact centre, a day-long horizon
        # recorded again when its 12 live streams were added (more shoppers, on purpose), and when its presale
        # add-on coupons were (money and a column only: latency.csv kept its hash)
        ["double11.yaml", "--set", "audience.size=5k", "--replications", "1"],
        (
            "ab365899c60ffbdda7c7b89e75a353b3de56fb591a76002ba4604b77aa2d8d8e",
            "914156e06f36d41c01af11ed2b77064a046dc606dee9269d2e88608fd6547a3b",
            "7fe9a56e58f85533b76d2876b61c39c418868e375be2b47ac79c5773f6bef503",
        ),
    ),
    "steady-state-2-replications": (
        ["steady-state.yaml", "--set", "audience.size=2k", "--replications", "2"],
        (
            "65fab504452cee412cecb7860071936e2dc6164d38082db9c20ce03b18d443d1",
            "d361efa7e71d38f6a6bffeb507714b33475f3f23ddb9c611aaeb63493144d84e",
            "342a0298bfd19f5e0f3726777c731d00caee96b0e3a97c9016613a2bac675a1a",
        ),
    ),
}


@pytest.mark.parametrize("case", list(GOLDEN))
def test_results_are_byte_identical_to_the_recorded_ones(case: str, tmp_path: Path) -> None:
    (scenario, *args), expected = GOLDEN[case]
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["run", str(ROOT / "scenarios" / scenario), *args, "--no-figures", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    got = tuple(hashlib.sha256((out / name).read_bytes()).hexdigest() for name in FILES)
    changed = [name for name, g, e in zip(FILES, got, expected) if g != e]
    assert not changed, f"{case}: {', '.join(changed)} changed (see this file's docstring)"
