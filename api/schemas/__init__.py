"""Request and response bodies of the HTTP API (pydantic), separate from the stored rows.

One module per resource, named after the router that serves it (``api.schemas.events`` for
``api.routers.events``); what several resources share (error bodies, ``responses()``, time
conversion, bounded row ids) lives in :mod:`api.schemas.common`. Routers import their models
from these modules and define none of their own.
"""
