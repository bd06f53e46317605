"""The web dashboard, served by the control plane on its API port (see ``app.make_dashboard``).

Server-rendered HTML from the control plane's in-process state; one small script of our
own (``static/dashboard.js``) refreshes live sections and streams the tap. No CDN, no
build step.
"""

from tether.dashboard.app import make_dashboard

__all__ = ["make_dashboard"]
