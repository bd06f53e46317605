from __future__ import annotations

from tether.proxy.chain import Filter, Handler, completion, compose
from tether.proxy.exchange import Exchange, Response
from tether.testing.factories import make_exchange


class Recorder(Filter):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def wrap(self, next_handler: Handler) -> Handler:
        async def run(ex: Exchange) -> Response:
            self.log.append(f"in:{self.name}")
            response = await next_handler(ex)
            self.log.append(f"out:{self.name}")
            return response

        return run

    def on_complete(self, ex: Exchange) -> None:
        self.log.append(f"done:{self.name}")


async def test_compose_runs_outermost_first_and_completes_in_stack_order() -> None:
    log: list[str] = []

    async def terminal(ex: Exchange) -> Response:
        log.append("terminal")
        return Response(204)

    filters = [Recorder("a", log), Recorder("b", log)]
    handler, complete = compose(filters, terminal), completion(filters)
    ex = make_exchange()
    response = await handler(ex)
    complete(ex)
    assert response.status == 204
    assert log == ["in:a", "in:b", "terminal", "out:b", "out:a", "done:a", "done:b"]


async def test_filters_without_hooks_are_not_called_on_complete() -> None:
    async def terminal(ex: Exchange) -> Response:
        return Response(200)

    handler, complete = compose([Filter()], terminal), completion([Filter()])
    complete(make_exchange())  # nothing to call, nothing raised
    assert (await handler(make_exchange())).status == 200


async def test_per_route_chains_hold_only_the_filters_that_apply_and_are_built_once() -> None:
    from tether.core.schema.snapshot import Route
    from tether.proxy.chain import per_route
    from tether.proxy.routing import RouteEntry

    log: list[str] = []

    class Picky(Recorder):
        def applies(self, route: RouteEntry) -> bool:
            return route.name == "busy"

    async def terminal(ex: Exchange) -> Response:
        log.append("terminal")
        return Response(200)

    handler = per_route([Picky("picky", log), Recorder("always", log)], terminal)
    busy, quiet = RouteEntry(Route(name="busy"), [], []), RouteEntry(Route(name="quiet"), [], [])
    for route in (busy, quiet):
        ex = make_exchange()
        ex.route = route
        await handler(ex)
    assert log == ["in:picky", "in:always", "terminal", "out:always", "out:picky", "in:always", "terminal", "out:always"]
    first = busy.chain
    ex = make_exchange()
    ex.route = busy
    await handler(ex)
    assert busy.chain is first
