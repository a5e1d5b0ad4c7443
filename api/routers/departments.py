"""Departments that receive alerts (admins only). Secrets are write-only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response, status

from alerts.departments import DepartmentNameTaken, DepartmentNotFound, DepartmentSpec
from alerts.formats import channel_problem
from alerts.runtime import PublishRuntime
from api.auth import AUTH_RESPONSES, require
from api.deps import PublishDep
from api.schemas.common import RowId, field_error, responses
from api.schemas.departments import DepartmentIn, DepartmentOut, DepartmentUpdate
from store.roles import Role

router = APIRouter(
    prefix="/api/departments",
    tags=["departments"],
    dependencies=[Depends(require(Role.ADMIN))],
    responses=AUTH_RESPONSES,
)

_NOT_FOUND = {404: "No such department."}


def _missing(exc: DepartmentNotFound) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


def _deliverable(
    spec: DepartmentSpec, publish: PublishRuntime, stored_secret: str = ""
) -> DepartmentSpec:
    """``spec``, or 422 when its channel needs a server the configuration does not name, or
    its webhook format a URL, template or secret it lacks."""
    problem = channel_problem(spec, stored_secret)
    if problem is not None:
        raise field_error(*problem)
    settings = publish.sender.settings
    if spec.email_to and settings.smtp is None:
        msg = "e-mail departments need a mail server: set publish.smtp in the configuration"
        raise field_error("email_to", msg)
    if spec.mqtt_topic and settings.mqtt is None:
        msg = "MQTT departments need a broker: set publish.mqtt in the configuration"
        raise field_error("mqtt_topic", msg)
    return spec


@router.get("", summary="List departments by name", responses=responses({}))
def list_departments(publish: PublishDep) -> list[DepartmentOut]:
    return [DepartmentOut.of(d) for d in publish.departments.list_all()]


@router.post(
    "",
    summary="Add a department",
    status_code=status.HTTP_201_CREATED,
    responses=responses({409: "The name is taken."}),
)
def create_department(body: DepartmentIn, publish: PublishDep) -> DepartmentOut:
    try:
        return DepartmentOut.of(publish.departments.create(_deliverable(body.spec(), publish)))
    except DepartmentNameTaken as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.get("/{department_id}", summary="One department", responses=responses(_NOT_FOUND))
def get_department(department_id: RowId, publish: PublishDep) -> DepartmentOut:
    try:
        return DepartmentOut.of(publish.departments.get(department_id))
    except DepartmentNotFound as exc:
        raise _missing(exc) from exc


@router.put(
    "/{department_id}",
    summary="Change a department (omitted fields are kept)",
    responses=responses({404: "No such department.", 409: "The name is taken."}),
)
def update_department(
    department_id: RowId, body: DepartmentUpdate, publish: PublishDep
) -> DepartmentOut:
    """A changed webhook URL or secret applies to pending alerts too (their next retry)."""
    store = publish.departments
    try:
        current = store.get(department_id)
        spec = _deliverable(body.merged(current), publish, current.secret)
        updated = store.update(department_id, spec)
    except DepartmentNotFound as exc:
        raise _missing(exc) from exc
    except ValueError as exc:  # more than one channel sent
        raise field_error("webhook_url", str(exc)) from exc
    except DepartmentNameTaken as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    publish.sender.wake()
    return DepartmentOut.of(updated)


@router.delete(
    "/{department_id}",
    summary="Delete a department; its undelivered alerts are cancelled",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(_NOT_FOUND),
)
def delete_department(department_id: RowId, publish: PublishDep) -> Response:
    try:
        publish.departments.delete(department_id)
    except DepartmentNotFound as exc:
        raise _missing(exc) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)
