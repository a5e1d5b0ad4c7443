"""Request and response bodies of the HTTP API (pydantic), separate from the stored rows.

One module per resource, named after its router (``api.schemas.events`` for
``api.routers.events``); what several resources share (errors, ``responses()``, time
conversion, bounded ids) lives in :mod:`api.schemas.common`. Routers import their models from
here and define none of their own.
"""
