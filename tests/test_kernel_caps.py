"""The kernel caps count what runs and what is starting, per client and in all, and forget kernels that are gone."""

from __future__ import annotations

from healthdash.kernel_caps import KernelCaps


def test_a_client_gets_places_up_to_its_cap_and_others_up_to_the_servers() -> None:
    caps = KernelCaps(max_kernels=3, max_per_client=2)
    first, second = caps.reserve("a", []), caps.reserve("a", [])
    assert first is not None and second is not None
    assert caps.reserve("a", []) is None  # the client's cap
    assert caps.reserve("b", []) is not None
    assert caps.reserve("c", []) is None  # the server's cap


def test_a_place_follows_its_kernel_and_is_given_back_when_the_kernel_is_gone() -> None:
    caps = KernelCaps(max_kernels=1, max_per_client=1)
    place = caps.reserve("a", [])
    assert place is not None
    caps.started(place, "k1")
    assert caps.reserve("a", ["k1"]) is None  # k1 runs
    assert caps.reserve("a", []) is not None  # k1 was shut down or culled


def test_a_request_that_ends_without_a_kernel_gives_its_place_back() -> None:
    caps = KernelCaps(max_kernels=1, max_per_client=1)
    place = caps.reserve("a", [])
    assert place is not None
    caps.release(place)
    caps.started(place, "late")  # a kernel named after the release takes no place
    assert caps.reserve("a", ["late"]) is not None
