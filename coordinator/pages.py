"""Helpers shared by the staff pages: role checks and showing a service's field errors on a form."""

from __future__ import annotations

import functools

from flask import abort
from flask_login import current_user, login_required
from wtforms import Form
from wtforms.fields.choices import SelectChoice

from coordinator.accounts.models import Role
from coordinator.errors import InvalidRequest, ServiceError


def role_required(*roles: Role):
    """Signed-in staff of one of `roles`; others get 403, visitors the sign-in page."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def show_field_errors(form: Form, error: InvalidRequest, field_names: dict[str, str] | None = None) -> None:
    """Attach a service's field errors to the form's fields; the rest become form-level errors."""
    field_names = field_names or {}
    for path, messages in (error.details or {}).items():
        field = form._fields.get(field_names.get(path, path))
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not error.details:
        form.form_errors.append(error.message)


def messages_of(error: ServiceError) -> list[str]:
    """Everything a service error says, for a page: its message, then each field's or condition's."""
    messages = [error.message]
    if isinstance(error.details, dict):
        messages += [text for texts in error.details.values() if isinstance(texts, list) for text in texts]
    elif isinstance(error.details, list):
        messages += [item["message"] for item in error.details if isinstance(item, dict) and "message" in item]
    return messages


def select_options(pairs) -> list[SelectChoice]:
    """Choices for a select field from (value, label) pairs."""
    return [SelectChoice(str(value), label) for value, label in pairs]
