"""Pure translation of the world (resources + workloads) into one snapshot per proxy."""

from tether.control.translate.build import cluster_name, domains, translate

__all__ = ["cluster_name", "domains", "translate"]
