"""The subnet maths: pure examples plus properties over every VPC size and AZ count the layout accepts."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.subnets import (
    MAX_AZS,
    SMALLEST_SUBNET_PREFIX,
    TIERS,
    SubnetLayoutError,
    parse_vpc_cidr,
    plan_subnets,
    smallest_vpc_prefix,
)

pytestmark = pytest.mark.unit

# Any valid VPC the layout accepts: a network address inside 10/8, 172.16/12 or 192.168/16, /16 to /23.
_PRIVATE_BLOCKS = [ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


@st.composite
def vpc_cidrs(draw: st.DrawFn, prefixes: st.SearchStrategy[int] | None = None) -> ipaddress.IPv4Network:
    block = draw(st.sampled_from(_PRIVATE_BLOCKS))
    if prefixes is None:
        prefixes = st.integers(min_value=max(16, block.prefixlen), max_value=smallest_vpc_prefix())
    prefix = draw(prefixes)
    count = 2 ** (prefix - block.prefixlen)
    index = draw(st.integers(min_value=0, max_value=count - 1))
    return ipaddress.IPv4Network((int(block.network_address) + index * 2 ** (32 - prefix), prefix))


az_counts = st.integers(min_value=1, max_value=MAX_AZS)


def test_dev_layout_of_a_slash_16() -> None:
    plans = plan_subnets("10.20.0.0/16", 2)
    assert [(p.tier, p.az_index, p.cidr) for p in plans] == [
        ("public", 0, "10.20.128.0/21"),
        ("public", 1, "10.20.136.0/21"),
        ("private", 0, "10.20.0.0/20"),
        ("private", 1, "10.20.16.0/20"),
        ("isolated", 0, "10.20.192.0/21"),
        ("isolated", 1, "10.20.200.0/21"),
    ]


def test_smallest_accepted_vpc_is_a_slash_23_with_slash_28_subnets() -> None:
    assert smallest_vpc_prefix() == 23
    plans = plan_subnets("10.0.0.0/23", MAX_AZS)
    assert max(ipaddress.IPv4Network(p.cidr).prefixlen for p in plans) == SMALLEST_SUBNET_PREFIX


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.0.0.0/24", "its subnets would be /29, below AWS's minimum /28; use a VPC from /16 to /23"),
        ("10.0.0.0/15", "has prefix /15; AWS allows VPC CIDRs from /16 to /28"),
        ("10.0.0.1/16", "has host bits set; did you mean 10.0.0.0/16?"),
        ("10.0.0.0", "has prefix /32"),  # a bare address is a /32
        ("10.0.0.0/33", "is not an IPv4 network in CIDR form such as 10.0.0.0/16"),
        ("ten.0.0.0/16", "is not an IPv4 network in CIDR form such as 10.0.0.0/16"),
        ("fd00::/56", "is not an IPv4 network"),
    ],
)
def test_bad_cidrs_are_rejected_with_what_would_be_valid(cidr: str, message: str) -> None:
    with pytest.raises(SubnetLayoutError) as caught:
        plan_subnets(cidr, 2)
    assert message in str(caught.value)


@pytest.mark.parametrize("az_count", [0, MAX_AZS + 1])
def test_az_count_out_of_range_is_rejected(az_count: int) -> None:
    with pytest.raises(SubnetLayoutError, match="azCount"):
        plan_subnets("10.0.0.0/16", az_count)


@given(vpc=vpc_cidrs(prefixes=st.integers(min_value=smallest_vpc_prefix() + 1, max_value=28)), azs=az_counts)
def test_vpcs_too_small_for_slash_28_subnets_are_rejected(vpc: ipaddress.IPv4Network, azs: int) -> None:
    with pytest.raises(SubnetLayoutError, match="too small"):
        plan_subnets(str(vpc), azs)


@given(vpc=vpc_cidrs(), azs=az_counts)
def test_one_subnet_per_tier_and_az(vpc: ipaddress.IPv4Network, azs: int) -> None:
    plans = plan_subnets(str(vpc), azs)
    assert sorted((p.tier, p.az_index) for p in plans) == sorted(itertools.product(TIERS, range(azs)))


@given(vpc=vpc_cidrs(), azs=az_counts)
def test_subnets_lie_inside_the_vpc_and_never_overlap(vpc: ipaddress.IPv4Network, azs: int) -> None:
    nets = [ipaddress.IPv4Network(p.cidr) for p in plan_subnets(str(vpc), azs)]
    assert all(net.subnet_of(vpc) for net in nets)
    for first, second in itertools.combinations(nets, 2):
        assert not first.overlaps(second), (first, second)


@given(vpc=vpc_cidrs(), azs=az_counts)
def test_every_subnet_is_at_least_a_slash_28(vpc: ipaddress.IPv4Network, azs: int) -> None:
    prefixes = [ipaddress.IPv4Network(p.cidr).prefixlen for p in plan_subnets(str(vpc), azs)]
    assert max(prefixes) <= SMALLEST_SUBNET_PREFIX


@given(vpc=vpc_cidrs(), azs=az_counts)
def test_tiers_are_sized_as_documented(vpc: ipaddress.IPv4Network, azs: int) -> None:
    # Private: 1/16 of the VPC per subnet (half the VPC in 8 slots); public and isolated: 1/32 each.
    expected = {"private": vpc.prefixlen + 4, "public": vpc.prefixlen + 5, "isolated": vpc.prefixlen + 5}
    for plan in plan_subnets(str(vpc), azs):
        assert ipaddress.IPv4Network(plan.cidr).prefixlen == expected[plan.tier], plan


@given(vpc=vpc_cidrs(), data=st.data())
def test_adding_azs_never_moves_an_existing_subnet(vpc: ipaddress.IPv4Network, data: st.DataObject) -> None:
    before = data.draw(st.integers(min_value=1, max_value=MAX_AZS - 1))
    after = data.draw(st.integers(min_value=before + 1, max_value=MAX_AZS))
    old = {(p.tier, p.az_index): p.cidr for p in plan_subnets(str(vpc), before)}
    new = {(p.tier, p.az_index): p.cidr for p in plan_subnets(str(vpc), after)}
    assert {key: new[key] for key in old} == old


@given(vpc=vpc_cidrs())
def test_parse_round_trips_valid_vpcs(vpc: ipaddress.IPv4Network) -> None:
    assert parse_vpc_cidr(str(vpc)) == vpc
