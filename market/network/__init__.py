"""The distribution network's rules as pure functions: feeder arrays, distances, use-of-system
charges, the security check and congestion management (docs/network.md)."""
