"""Scale-out: workers that share the cameras over NATS JetStream, API replicas that record.

Imported only when a command is given ``--bus``; the single-node service never loads it.

- :mod:`cluster.settings`: the bus address, this node's name and capacity, lease timing.
- :mod:`cluster.assign`: which worker should hold which camera (pure functions).
- :mod:`cluster.bus`: the connection (reconnecting forever) and the JetStream layout.
- :mod:`cluster.leases`: camera leases in a key-value bucket with a time to live.
- :mod:`cluster.worker`: ``emberwatch worker``, the cameras of its share through the pipeline.
- :mod:`cluster.ingest`: the API's side: transitions from the stream into the database.
- :mod:`cluster.remote`: the API's view of cameras analysed elsewhere.
"""
