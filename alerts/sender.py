"""The sender: a thread that delivers due outbox rows to departments' webhooks or mailboxes.

Each attempt to a webhook POSTs the rendered body with::

    Content-Type: application/json
    X-Emberwatch-Signature: sha256=<hex HMAC-SHA256 of the body, department secret>
    X-Emberwatch-Delivery: <delivery id>
    X-Emberwatch-Event: <event id>
    Idempotency-Key: <delivery id>   (<delivery id>.<n> for the n-th escalation re-send)

An e-mail department gets the same body and signature in a message (:mod:`alerts.mail`)
through ``publish.smtp``; the server accepting it counts as delivered (status 250). An MQTT
department gets the body on its topic through ``publish.mqtt``, the headers as MQTT 5 user
properties (:mod:`alerts.mqtt`); the broker's acknowledgement counts as delivered.

A department's ``webhook_format`` chooses what its URL gets instead: a DingTalk, WeCom or
Feishu group robot's message, or a templated request (:mod:`alerts.robots`); a robot's
answer must also say ``errcode``/``code`` 0.

A 2xx answer marks the delivery delivered. Anything else (a refused connection, a timeout,
any other status) marks it failing with the error text and a retry time: the delay doubles
from ``retry_initial_s`` up to ``retry_max_s`` and the sender never gives up. All state is in
the database, so a restarted process continues with whatever is due; a kill between a
receiver's 2xx and our commit re-sends with the same Idempotency-Key.

Several services may share one database: a sender claims each due delivery before sending
(:meth:`Outbox.claim_due`), for the request timeout plus :data:`CLAIM_MARGIN_S`.

The sender's thread is supervised (:mod:`streams.supervise`): an unexpected error of a
dispatch round or of one attempt is logged with its event, counted, and sending goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy.exc import SQLAlchemyError

from alerts.mail import MailError, build_message, send
from alerts.mqtt import MqttError, publish
from alerts.outbox import Outbox
from alerts.payload import DeliveryInfo, Links, render_body
from alerts.records import DueDelivery
from alerts.robots import (
    HttpRequest,
    answer_error,
    emberwatch_headers,
    outgoing_request,
    url_secrets,
)
from service.alert_config import PublishConfig
from streams.redact import redact_text
from streams.supervise import Heartbeat, Supervisor

log = logging.getLogger(__name__)
# httpx logs each request's full URL at INFO; robot URLs carry their credentials (DingTalk's
# access_token, WeCom's key, Feishu's token), so only its warnings are let through. Our own
# lines say what was delivered where.
logging.getLogger("httpx").setLevel(logging.WARNING)

#: The status recorded for an e-mail the mail server accepted (SMTP's "250 OK").
SMTP_ACCEPTED = 250
#: The status recorded for a message the MQTT broker acknowledged (as for a 200 of a webhook).
MQTT_ACKNOWLEDGED = 200
#: A claim outlasts the request timeout by this much before another sender may retry the copy.
CLAIM_MARGIN_S = 2.0


def retry_delay(attempts: int, initial_s: float, max_s: float) -> float:
    """Seconds before the next try after ``attempts`` failed tries (1, 2, …): doubling, capped."""
    exponent = min(max(attempts - 1, 0), 60)  # 2**60 already exceeds any sane cap
    return float(min(initial_s * 2.0**exponent, max_s))


class Sender:
    """Delivers outbox rows on a background thread with a pool of request workers.

    Args:
        outbox: where deliveries live.
        settings: retry, timeout, poll and worker settings.
        links: builds each body's ack link.
        clock: epoch seconds (retry times are stored as epoch seconds).
    """

    def __init__(
        self,
        outbox: Outbox,
        settings: PublishConfig,
        links: Links,
        *,
        clock: Callable[[], float] = time.time,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.outbox, self.settings, self.links = outbox, settings, links
        self._clock = clock
        self._supervisor = supervisor or Supervisor()
        # Beats at every round; a round waits at most a poll interval.
        beat_s = max(settings.poll_interval_s, 1.0)
        self._beat = Heartbeat("alert-sender", "alert_sender", beat_s, self._supervisor)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._client: httpx.Client | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._client = httpx.Client(
            timeout=self.settings.request_timeout_s,
            follow_redirects=False,
            trust_env=self.settings.proxy_from_environment,
        )
        self._pool = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="alert-send")
        self._thread = threading.Thread(target=self._run, name="alert-sender", daemon=True)
        self._supervisor.watch(self._beat)
        self._thread.start()

    def stop(self) -> None:
        """Stop dispatching, wait for requests in flight (each bounded by the timeout)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def wake(self) -> None:
        """Look for due deliveries now (after a publish or an ack)."""
        self._wake.set()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    self._tick()
                except SQLAlchemyError:  # outlive a database hiccup: the rows stay pending
                    log.exception("alert sender: dispatch failed; retrying")
                    self._beat.beat()
                except Exception as exc:  # loop boundary: any other error, counted
                    detail = self._redact(f"{type(exc).__name__}: {exc}")
                    self._beat.failed(exc, "dispatching due deliveries", detail=detail)
                else:
                    self._beat.ok()
                self._wake.wait(self._sleep_s())
        finally:
            self._supervisor.retire(self._beat)

    def _sleep_s(self) -> float:
        poll = self.settings.poll_interval_s
        try:
            due = self.outbox.next_due_at()
        except SQLAlchemyError:  # logged by the next tick; wait a poll interval
            return poll
        return poll if due is None else min(poll, max(0.0, due - self._clock()))

    def _tick(self) -> None:
        for record in self.outbox.escalate_due(self.settings.max_escalations):
            log.warning(
                "event %d: %s did not acknowledge the alert; re-sending (escalation %d)",
                record.event_id,
                record.department_name,
                record.escalations,
            )
        with self._lock:
            skip = frozenset(self._inflight)
        lease_s = self.settings.request_timeout_s + CLAIM_MARGIN_S
        limit = self.settings.workers * 4
        for due in self.outbox.claim_due(self._clock(), lease_s, skip=skip, limit=limit):
            with self._lock:
                self._inflight.add(due.id)
            if self._pool is None:
                return
            self._pool.submit(self._attempt, due)

    def _attempt(self, due: DueDelivery) -> None:
        try:
            self.deliver(due)
        except Exception as exc:  # never lose the worker; the row stays pending and is retried
            where = f"event {due.event_id} to {due.department_name}"
            detail = self._redact(f"{type(exc).__name__}: {exc}", due)
            self._beat.failed(exc, where, detail=detail)
        finally:
            with self._lock:
                self._inflight.discard(due.id)
            self._wake.set()

    def deliver(self, due: DueDelivery) -> bool:
        """One attempt; records the outcome. True when the department accepted it."""
        info = DeliveryInfo(
            due.uid, due.department_name, self.links.ack_url(due.ack_token), due.escalations
        )
        if due.mqtt_topic is not None:
            return self._mqtt(due, due.mqtt_topic, render_body(due.payload, info))
        if due.url is None:
            return self._mail(due, render_body(due.payload, info))
        tz = self.settings.message_zone()
        return self._http(due, outgoing_request(due, info, self._clock(), tz))

    def _http(self, due: DueDelivery, request: HttpRequest) -> bool:
        client = self._client
        if client is None:
            return False
        try:
            response = client.request(
                request.method, request.url, content=request.content, headers=dict(request.headers)
            )
        except httpx.HTTPError as exc:
            self._failed(due, f"{type(exc).__name__}: {exc}", None)
            return False
        error = answer_error(due.webhook_format, response)
        if error is not None:
            self._failed(due, error, response.status_code)
            return False
        self.outbox.mark_delivered(due.id, response.status_code)
        log.info("event %d: alert delivered to %s", due.event_id, due.department_name)
        return True

    def _mail(self, due: DueDelivery, body: bytes) -> bool:
        smtp = self.settings.smtp
        if smtp is None:
            self._failed(due, "no mail server configured (publish.smtp)", None)
            return False
        msg = build_message(due, body, smtp.from_address)
        try:
            refused = send(msg, smtp, self.settings.request_timeout_s)
        except MailError as exc:
            self._failed(due, str(exc), None)
            return False
        self.outbox.mark_delivered(due.id, SMTP_ACCEPTED)
        if refused:
            log.warning("event %d: %s: the mail server refused %s", due.event_id,
                        due.department_name, ", ".join(refused))  # fmt: skip
        log.info("event %d: alert e-mailed to %s", due.event_id, due.department_name)
        return True

    def _mqtt(self, due: DueDelivery, topic: str, body: bytes) -> bool:
        broker = self.settings.mqtt
        if broker is None:
            self._failed(due, "no MQTT broker configured (publish.mqtt)", None)
            return False
        try:
            publish(
                broker, topic, body, emberwatch_headers(due, body), self.settings.request_timeout_s
            )
        except MqttError as exc:
            self._failed(due, str(exc), None)
            return False
        self.outbox.mark_delivered(due.id, MQTT_ACKNOWLEDGED)
        log.info("event %d: alert published to %s on %s", due.event_id, due.department_name, topic)
        return True

    def _redact(self, error: str, due: DueDelivery | None = None) -> str:
        """``error`` without the credentials of the service and of ``due``'s department."""
        secrets = [c.password for c in (self.settings.smtp, self.settings.mqtt) if c]
        urls = []
        if due is not None and due.url:
            # The whole webhook URL is a secret too: some services put the key in its path.
            urls.append(due.url)
            secrets += [due.url, *url_secrets(due.webhook_format, due.url)]
        if due is not None:
            secrets += [value for _, value in due.template.headers] if due.template else []
            secrets.append(due.secret)
        return redact_text(error, urls=urls, secrets=[s for s in secrets if s])

    def _failed(self, due: DueDelivery, error: str, status_code: int | None) -> None:
        error = self._redact(error or "unknown error", due)
        delay = retry_delay(
            due.attempts + 1, self.settings.retry_initial_s, self.settings.retry_max_s
        )
        self.outbox.mark_failed(due.id, error, status_code, self._clock() + delay)
        log.warning(
            "event %d: alert to %s failed (attempt %d): %s; retry in %.1f s",
            due.event_id,
            due.department_name,
            due.attempts + 1,
            error,
            delay,
        )
