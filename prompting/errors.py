"""Domain errors with the sentence the user sees. Services raise them; one place
(`prompting/views/errors.py`) turns them into responses."""

from __future__ import annotations


class ApplicationError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, user_message: str, *, code: str | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        if code:
            self.code = code


class NotFound(ApplicationError):
    """Missing, or owned by someone else: the two look the same on purpose."""

    status = 404
    code = "not_found"

    def __init__(self, what: str = "That item") -> None:
        super().__init__(f"{what} was not found.")


class ModelNotAvailable(ApplicationError):
    code = "model_not_allowed"


class InputRejected(ApplicationError):
    code = "input_rejected"


class RunNotRetryable(ApplicationError):
    status = 409
    code = "not_retryable"


class ServiceUnavailable(ApplicationError):
    """A part the request needs (the queue, the database) is down: nothing was sent."""

    status = 503
    code = "unavailable"


QUEUE_UNAVAILABLE_MESSAGE = (
    "Messages cannot be sent right now because a part of the service is restarting. "
    "Nothing was sent; please try again in a minute."
)


class QueueUnavailable(ServiceUnavailable):
    """Redis (the broker, the relay and the limit counters) cannot be reached at send."""

    code = "queue_unavailable"
    retry_after = 5

    def __init__(self, user_message: str = QUEUE_UNAVAILABLE_MESSAGE) -> None:
        super().__init__(user_message)
