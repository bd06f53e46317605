"""The authorization decision, with Istio's semantics; pure and compiled once per snapshot.

Order: any matching DENY policy denies; then, if at least one ALLOW policy applies to the
workload, one of them must match or the request is denied; with no ALLOW policy the request
is allowed. AUDIT policies never change the decision, they are only reported.

A condition key the engine does not know can neither be evaluated nor ignored safely: in an
ALLOW policy it never matches, in a DENY (or AUDIT) policy it always matches, so an unknown
key always fails closed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tether.core.schema.security import AuthzCondition, AuthzConfig, AuthzOperation, AuthzRule, AuthzSource
from tether.proxy.authz.match import Test, any_pattern, full_regex, in_blocks, namespace_of

Predicate = Callable[["AuthzRequest"], bool]
Values = Callable[["AuthzRequest"], Sequence[str]]


@dataclass(frozen=True, slots=True)
class RequestAuth:
    """What a verified JWT says: principal ``<iss>/<sub>``, claims, audiences, presenter (azp)."""

    principal: str
    claims: Mapping[str, object] = field(default_factory=dict)
    audiences: tuple[str, ...] = ()
    presenter: str = ""


@dataclass(frozen=True, slots=True)
class AuthzRequest:
    """The facts a decision looks at. ``principal`` is the mTLS-verified peer principal
    (``cluster.local/ns/default/sa/order``), empty when the peer is not authenticated;
    ``path`` is already normalised; ``headers`` has lower-case names."""

    method: str
    path: str
    host: str = ""
    port: int = 0
    source_ip: str = ""
    remote_ip: str = ""
    principal: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: RequestAuth | None = None
    destination_ip: str = ""
    sni: str = ""

    @property
    def namespace(self) -> str:
        """Return the peer's namespace, from its principal ("" without one)."""
        return namespace_of(self.principal)


@dataclass(frozen=True, slots=True)
class Decision:
    """``allowed``; ``policy`` names the policy that decided ("" for the default);
    ``audited`` names every AUDIT policy that matched."""

    allowed: bool
    policy: str = ""
    audited: tuple[str, ...] = ()


def _field(values: tuple[str, ...], nots: tuple[str, ...], get: Callable[[AuthzRequest], str],
           make: Callable[[tuple[str, ...]], Test]) -> list[Predicate]:
    out: list[Predicate] = []
    if values:
        yes = make(values)
        out.append(lambda r: yes(get(r)))
    if nots:
        no = make(nots)
        out.append(lambda r: not no(get(r)))
    return out


def _patterns(values: tuple[str, ...]) -> Test:
    return any_pattern(values)


def _request_principal(r: AuthzRequest) -> str:
    return r.auth.principal if r.auth is not None else ""


def _source(s: AuthzSource) -> Predicate:
    tests = [
        *_field(s.principals, s.not_principals, lambda r: r.principal, _patterns),
        *_field(s.request_principals, s.not_request_principals, _request_principal, _patterns),
        *_field(s.namespaces, s.not_namespaces, lambda r: r.namespace, _patterns),
        *_field(s.ip_blocks, s.not_ip_blocks, lambda r: r.source_ip, in_blocks),
        *_field(s.remote_ip_blocks, s.not_remote_ip_blocks, lambda r: r.remote_ip, in_blocks),
    ]
    return lambda r: all(t(r) for t in tests)


def _host_test(patterns: tuple[str, ...]) -> Test:
    test = any_pattern(patterns, fold=True)

    def host(value: str) -> bool:
        bare, sep, port = value.rpartition(":")
        return test(value) or bool(sep and port.isdigit() and "]" not in port and test(bare))

    return host


def _ports(ports: tuple[int, ...]) -> Test:
    wanted = frozenset(str(p) for p in ports)
    return lambda v: v in wanted


def _operation(op: AuthzOperation) -> Predicate:
    tests = [
        *_field(op.hosts, op.not_hosts, lambda r: r.host, _host_test),
        *_field(tuple(map(str, op.ports)), tuple(map(str, op.not_ports)), lambda r: str(r.port),
                lambda ps: _ports(tuple(int(p) for p in ps))),
        *_field(op.methods, op.not_methods, lambda r: r.method, _patterns),
        *_field(op.paths, op.not_paths, lambda r: r.path, _patterns),
    ]
    if op.path_regexes:
        regexes = tuple(full_regex(x) for x in op.path_regexes)
        tests.append(lambda r: any(t(r.path) for t in regexes))
    tests.extend(_header_regex(name.lower(), full_regex(expr)) for name, expr in sorted(op.header_regexes.items()))
    return lambda r: all(t(r) for t in tests)


def _header_regex(lname: str, rx: Test) -> Predicate:
    return lambda r: lname in r.headers and rx(r.headers[lname])


def _claim(path: tuple[str, ...]) -> Values:
    def values(r: AuthzRequest) -> Sequence[str]:
        node: object = r.auth.claims if r.auth is not None else None
        for step in path:
            node = node.get(step) if isinstance(node, Mapping) else None
        if isinstance(node, str):
            return (node,)
        if isinstance(node, bool):
            return ("true" if node else "false",)
        if isinstance(node, int | float):
            return (str(node),)
        if isinstance(node, list):
            return tuple(v for v in node if isinstance(v, str))
        return ()

    return values


_SIMPLE: dict[str, Values] = {
    "source.principal": lambda r: (r.principal,),
    "source.namespace": lambda r: (r.namespace,),
    "request.auth.principal": lambda r: (_request_principal(r),),
    "request.auth.audiences": lambda r: r.auth.audiences if r.auth is not None else (),
    "request.auth.presenter": lambda r: (r.auth.presenter,) if r.auth is not None else (),
    "destination.port": lambda r: (str(r.port),),
    "connection.sni": lambda r: (r.sni,),
}
_IPS: dict[str, Callable[[AuthzRequest], str]] = {
    "source.ip": lambda r: r.source_ip,
    "remote.ip": lambda r: r.remote_ip,
    "destination.ip": lambda r: r.destination_ip,
}


def _bracketed(key: str, prefix: str) -> tuple[str, ...] | None:
    """Return the names in ``prefix[a][b]`` (None unless ``key`` has that shape)."""
    if not key.startswith(prefix + "[") or not key.endswith("]"):
        return None
    inner = key[len(prefix) + 1 : -1]
    names = tuple(inner.split("]["))
    return names if all(names) else None


def _condition(c: AuthzCondition, action: str) -> Predicate:
    if c.key in _IPS:
        get = _IPS[c.key]
        yes = in_blocks(c.values) if c.values else None
        no = in_blocks(c.not_values) if c.not_values else None
        return lambda r: (yes is None or yes(get(r))) and (no is None or not no(get(r)))
    values: Values | None = _SIMPLE.get(c.key)
    header = _bracketed(c.key, "request.headers")
    claims = _bracketed(c.key, "request.auth.claims")
    if header is not None and len(header) == 1:
        lname = header[0].lower()
        values = lambda r: (r.headers[lname],) if lname in r.headers else ()  # noqa: E731
    elif claims is not None:
        values = _claim(claims)
    if values is None:
        verdict = action != "ALLOW"
        return lambda r: verdict
    get_values = values
    yes_t = any_pattern(c.values) if c.values else None
    no_t = any_pattern(c.not_values) if c.not_values else None

    def test(r: AuthzRequest) -> bool:
        found = get_values(r)
        if yes_t is not None and not any(yes_t(v) for v in found):
            return False
        return no_t is None or not any(no_t(v) for v in found)

    return test


def _rule(rule: AuthzRule, action: str) -> Predicate:
    sources = tuple(_source(s) for s in rule.sources)
    operations = tuple(_operation(o) for o in rule.operations)
    conditions = tuple(_condition(c, action) for c in rule.conditions)

    def matches(r: AuthzRequest) -> bool:
        return ((not sources or any(s(r) for s in sources))
                and (not operations or any(o(r) for o in operations))
                and all(c(r) for c in conditions))

    return matches


class _Compiled:
    __slots__ = ("matches", "name")

    def __init__(self, name: str, rules: tuple[Predicate, ...]) -> None:
        self.name = name
        self.matches: Predicate = lambda r: any(rule(r) for rule in rules)


class Engine:
    """The policies of one snapshot, compiled; ``decide`` is pure and cheap."""

    def __init__(self, config: AuthzConfig) -> None:
        """Compile ``config``; raises ConfigRejected for a bad CIDR or regex."""
        groups: dict[str, list[_Compiled]] = {"ALLOW": [], "DENY": [], "AUDIT": []}
        for p in config.policies:
            action = p.action if p.action in groups else "DENY"  # anything else fails closed
            groups[action].append(_Compiled(p.name, tuple(_rule(r, action) for r in p.rules)))
        self.allow, self.deny, self.audit = (tuple(groups[k]) for k in ("ALLOW", "DENY", "AUDIT"))
        self.uses_headers = any(
            c.key.startswith("request.headers[") or any(o.header_regexes for o in r.operations)
            for p in config.policies for r in p.rules for c in (*r.conditions, AuthzCondition(key=""))
        )

    def decide(self, request: AuthzRequest) -> Decision:
        """Return the decision for ``request`` (DENY first, then ALLOW; AUDIT only reported)."""
        audited = tuple(p.name for p in self.audit if p.matches(request))
        for p in self.deny:
            if p.matches(request):
                return Decision(False, p.name, audited)
        if not self.allow:
            return Decision(True, "", audited)
        for p in self.allow:
            if p.matches(request):
                return Decision(True, p.name, audited)
        return Decision(False, "", audited)
