"""Builds the publishing parts from the app config and runs them for the app's lifetime.

In ``api/app.py``'s lifespan::

    publish = PublishRuntime.create(config, engine, store, pipeline_cameras(pipe))
    publish.start()      # before the pipeline: registers the store listener; sender thread
    ...
    publish.stop()       # after the pipeline stopped: finish queued changes and requests
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from alerts.auto import EventReactor
from alerts.departments import DepartmentStore
from alerts.locate import CameraLookup, LocationStore
from alerts.outbox import Outbox
from alerts.payload import Links
from alerts.sender import Sender
from alerts.service import PublishService
from alerts.signing import KEY_FILE, SnapshotSigner, load_or_create_key
from service.config import AppConfig
from store.events import EventStore
from streams.config import CameraConfig
from streams.supervise import Supervisor

if TYPE_CHECKING:
    from service.pipeline import PipelineLike


def pipeline_cameras(pipeline: PipelineLike) -> CameraLookup:
    """The cameras the pipeline runs now (cameras may be added or changed at run time)."""

    def lookup() -> Mapping[str, CameraConfig]:
        return {view.config.id: view.config for view in pipeline.cameras()}

    return lookup


def public_base_url(config: AppConfig) -> str:
    """``publish.public_url``, else the address the server listens on."""
    if config.publish.public_url:
        return config.publish.public_url
    host = config.server.host
    host = f"[{host}]" if ":" in host else host  # IPv6 literal
    return f"http://{host}:{config.server.port}"


@dataclass
class PublishRuntime:
    """The publishing parts of one app: stores, service, sender and the event reactor."""

    departments: DepartmentStore
    outbox: Outbox
    locations: LocationStore
    service: PublishService
    sender: Sender
    reactor: EventReactor
    signer: SnapshotSigner
    events: EventStore
    cameras: CameraLookup

    @classmethod
    def create(
        cls,
        config: AppConfig,
        engine: Engine,
        events: EventStore,
        cameras: CameraLookup,
        *,
        clock: Callable[[], float] = time.time,
        supervisor: Supervisor | None = None,
    ) -> PublishRuntime:
        """Wire everything; the tables must exist (``init_db``). Starts nothing.

        ``supervisor`` watches the sender's thread (a private one when None).
        """
        settings = config.publish
        key = settings.signing_key or load_or_create_key(config.data_dir / KEY_FILE)
        signer = SnapshotSigner(key)
        links = Links(public_base_url(config), signer)
        departments = DepartmentStore(engine, clock=clock)
        outbox = Outbox(engine, clock=clock)
        locations = LocationStore(engine, cameras, settings.location, clock=clock)
        sender = Sender(outbox, settings, links, clock=clock, supervisor=supervisor)
        service = PublishService(
            events=events,
            departments=departments,
            outbox=outbox,
            locations=locations,
            links=links,
            settings=settings,
            cameras=cameras,
            on_enqueued=sender.wake,
            clock=clock,
        )
        reactor = EventReactor(events, departments, outbox, locations, service, supervisor)
        return cls(
            departments, outbox, locations, service, sender, reactor, signer, events, cameras
        )

    def start(self) -> None:
        """Start delivering (what a previous run left pending goes out first) and listen."""
        self.events.add_listener(self.reactor)
        self.sender.start()

    def stop(self) -> None:
        self.reactor.close()
        self.sender.stop()
