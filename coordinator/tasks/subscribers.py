"""What closes a task when someone acts on it elsewhere, by subscribing to the signal of the domain that acts."""

from __future__ import annotations

from coordinator.accounts.models import Actor
from coordinator.notifications.models import OutboxMessage
from coordinator.notifications.service import parked_message_handled
from coordinator.tasks.models import TaskKind
from coordinator.tasks.service import close_tasks


@parked_message_handled.connect
def close_parked_message_task(message: OutboxMessage, *, actor: Actor) -> None:
    """Retrying or discarding a parked message is acting on its task."""
    close_tasks(actor, [TaskKind.message_parked], subject_id=message.id)
