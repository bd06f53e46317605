"""Pushing snapshots to proxies: a pure planner (who gets what) and the asyncio hub."""
