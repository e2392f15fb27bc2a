"""Addresses and subnets of this host's interfaces, for the local-if and local-subnet
identifiers.  Read once when the limit file loads, as the original does."""

from __future__ import annotations

import ipaddress
import socket

import psutil

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _strip_scope(address: str) -> str:
    return address.split("%", 1)[0]


def local_networks() -> list[Network]:
    """Every (address, netmask) on a local interface as a network with host bits kept."""
    networks: list[Network] = []
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address = _strip_scope(addr.address)
            mask = addr.netmask
            try:
                if mask is None:
                    networks.append(ipaddress.ip_network(address))
                elif addr.family == socket.AF_INET6:
                    prefix = (
                        ipaddress.IPv6Network(f"::/{mask}").prefixlen if ":" in mask else int(mask)
                    )
                    networks.append(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
                else:
                    networks.append(ipaddress.ip_network(f"{address}/{mask}", strict=False))
            except ValueError:
                continue
    return networks


def local_addresses() -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address configured on a local interface."""
    out = set()
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                try:
                    out.add(ipaddress.ip_address(_strip_scope(addr.address)))
                except ValueError:
                    continue
    return out


def parse_ip(text: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IP address from a hint (scope suffix stripped); ValueError with a clear text."""
    try:
        return ipaddress.ip_address(_strip_scope(str(text)))
    except ValueError:
        raise ValueError(f"Invalid IP '{text}'") from None


def parse_cidr(text: str) -> Network:
    """An IP or CIDR as a network; ValueError ``Invalid IP or CIDR '<x>'``."""
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        raise ValueError(f"Invalid IP or CIDR '{text}'") from None


def in_any(ip, networks) -> bool:
    """True when ``ip`` lies in one of ``networks`` (families are never mixed)."""
    return any(ip.version == net.version and ip in net for net in networks)
