"""The book's example system, as small standard-library services without any mesh code.

Run each with ``python -m tether.demo.<name>``:

- ``order``: enter, list and delete orders; ``GET /feed`` (conditional GET) and
  ``GET /order/{id}`` (JSON) for the others.
- ``shipping`` / ``invoicing``: poll the order feed, make a shipment (cost 1 for DHL,
  2 for Hermes) / an invoice (sum of count x price) of each new order.
- ``home``: the home page linking to ``/order/``, ``/shipping/``, ``/invoicing/``.

Environment:

=====================  ==========================================================  ===========================
variable               meaning                                                     default
=====================  ==========================================================  ===========================
``PORT``               port on 127.0.0.1; 0 picks one (printed as                  0
                       ``listening on 127.0.0.1:<port>``)
``DB_PATH``            SQLite file                                                 a file in a temporary dir
``DATABASE_URL``       ``postgresql://...`` (needs psycopg) or ``sqlite:///PATH``  unset
``ACCESS_LOG``         ``false`` silences the request lines on stderr              on
``ORDER_LINK_BASE``    (order) base of the feed's links                            ``http://order``
``FAILRANDOMLY``       (order) ``true``: about half of all requests answer 500     off
``FAILRANDOMLY_SEED``  (order) seed of that coin, for repeatable runs              random
``ORDER_URL``          (shipping, invoicing) the feed                              ``http://order/feed``
``POLL_INTERVAL``      (shipping, invoicing) seconds between polls; 0 = only       30
                       on ``POST /poll``
``FETCH_TIMEOUT``      (shipping, invoicing) seconds per outbound request          10
``HTTP_PROXY``         outbound calls go through this proxy (the sidecar)          unset
=====================  ==========================================================  ===========================

``POST /poll`` with ``Accept: application/json`` answers ``{"ok", "new", "error"}``; from a
browser form it redirects to the list. All links and form targets are relative, so the
pages work on their own port and behind the ingress gateway's prefixes.
"""
