"""Istio ``Gateway`` and ``ServiceEntry`` (networking.istio.io v1alpha3/v1beta1/v1)."""

from __future__ import annotations

from typing import Literal

from tether.control.model.values import Struct


class Port(Struct, frozen=True):
    number: int
    protocol: str | None = None
    name: str | None = None
    target_port: int | None = None


class ServerTLSSettings(Struct, frozen=True):
    https_redirect: bool | None = None
    mode: (
        Literal["PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"]
        | None
    ) = None
    server_certificate: str | None = None
    private_key: str | None = None
    ca_certificates: str | None = None
    ca_crl: str | None = None
    credential_name: str | None = None
    credential_names: tuple[str, ...] = ()
    subject_alt_names: tuple[str, ...] = ()
    verify_certificate_spki: tuple[str, ...] = ()
    verify_certificate_hash: tuple[str, ...] = ()
    min_protocol_version: str | None = None
    max_protocol_version: str | None = None
    cipher_suites: tuple[str, ...] = ()


class Server(Struct, frozen=True):
    port: Port
    hosts: tuple[str, ...] = ()
    bind: str | None = None
    tls: ServerTLSSettings | None = None
    default_endpoint: str | None = None
    name: str | None = None


class GatewaySpec(Struct, frozen=True):
    """``spec`` of a Gateway: which gateway workloads (``selector``) listen how (``servers``)."""

    selector: dict[str, str] = {}
    servers: tuple[Server, ...] = ()


class WorkloadEntry(Struct, frozen=True):
    """One endpoint of a ServiceEntry (``spec.endpoints[]``)."""

    address: str | None = None
    ports: dict[str, int] = {}
    labels: dict[str, str] = {}
    network: str | None = None
    locality: str | None = None
    weight: int | None = None
    service_account: str | None = None


class EntryWorkloadSelector(Struct, frozen=True):
    labels: dict[str, str] = {}


class ServicePort(Struct, frozen=True):
    number: int
    protocol: str | None = None
    name: str | None = None
    target_port: int | None = None


Resolution = Literal["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"]


class ServiceEntrySpec(Struct, frozen=True):
    """``spec`` of a ServiceEntry: services the mesh registry does not know by itself."""

    hosts: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    ports: tuple[ServicePort, ...] = ()
    location: Literal["MESH_EXTERNAL", "MESH_INTERNAL"] | None = None
    resolution: Resolution | None = None
    endpoints: tuple[WorkloadEntry, ...] = ()
    workload_selector: EntryWorkloadSelector | None = None
    export_to: tuple[str, ...] = ()
    subject_alt_names: tuple[str, ...] = ()
