"""One application error with machine codes, and one exception handler.

Every error the API returns is JSON ``{"code": ..., "message": ...}`` (plus
``fields`` for validation errors): a stable ``code`` for programs, a
``message`` for people. Views raise :class:`ApiError` subclasses (or DRF's
own exceptions, which are translated here); nothing else reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework import status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApiError(drf.APIException):
    """An application error: HTTP status, stable code, human message."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request is not valid."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        self.code = code or self.default_code
        self.message = str(message or self.default_detail)


class BadRequest(ApiError):
    pass


class NotAuthenticated(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "not_authenticated"
    default_detail = "Authentication credentials were not provided."


class TokenInvalid(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "token_invalid"
    default_detail = "The API token is not valid."


class Forbidden(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "forbidden"
    default_detail = "You do not have permission to perform this action."


class NotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "wrong_state"
    default_detail = "The object is not in a state that allows this action."


class Gone(ApiError):
    status_code = status.HTTP_410_GONE
    default_code = "gone"
    default_detail = "The release is no longer available."


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The upload is too large."


class UnsupportedMediaType(ApiError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_media_type"
    default_detail = "The content type is not accepted."


class RangeNotSatisfiable(ApiError):
    status_code = status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE
    default_code = "range_not_satisfiable"
    default_detail = "The requested byte range is not satisfiable."

    def __init__(self, message: str | None = None, *, size: int) -> None:
        super().__init__(message)
        self.size = size


class Throttled(ApiError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"
    default_detail = "Too many requests."

    def __init__(self, message: str | None = None, *, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def _flatten(detail: Any) -> Any:
    """DRF's ErrorDetail tree as plain strings."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def _translate(exc: Exception) -> Exception:
    """Map Django's and DRF's exceptions onto ApiError (keep anything else as is)."""
    if isinstance(exc, ApiError | drf.ValidationError):
        return exc
    from governance.errors import GovernanceError

    if isinstance(exc, GovernanceError):
        err0 = ApiError(exc.message, code=exc.code)
        err0.status_code = exc.status
        return err0
    if isinstance(exc, Http404 | drf.NotFound):
        return NotFound()
    if isinstance(exc, drf.NotAuthenticated):
        return NotAuthenticated()
    if isinstance(exc, drf.AuthenticationFailed):
        return TokenInvalid(str(exc.detail))
    if isinstance(exc, DjangoPermissionDenied | drf.PermissionDenied):
        return Forbidden(str(getattr(exc, "detail", "")) or None)
    if isinstance(exc, drf.Throttled):
        wait: float | None = getattr(exc, "wait", None)
        return Throttled(f"Too many requests; retry in {wait or 1:.0f} s.", wait=wait)
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, drf.UnsupportedMediaType):
        return UnsupportedMediaType(str(exc.detail))
    if isinstance(exc, drf.MethodNotAllowed):
        err2 = ApiError(str(exc.detail), code="method_not_allowed")
        err2.status_code = status.HTTP_405_METHOD_NOT_ALLOWED
        return err2
    if isinstance(exc, drf.NotAcceptable):
        err3 = ApiError(str(exc.detail), code="not_acceptable")
        err3.status_code = status.HTTP_406_NOT_ACCEPTABLE
        return err3
    if isinstance(exc, drf.ParseError):
        return BadRequest(str(exc.detail), code="parse_error")
    if isinstance(exc, DjangoValidationError):
        return drf.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, drf.APIException):
        err4 = ApiError(str(exc.detail), code=str(exc.default_code))
        err4.status_code = exc.status_code
        return err4
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every error as ``{code, message}``."""
    exc = _translate(exc)
    if isinstance(exc, drf.ValidationError):
        detail = _flatten(exc.detail)
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        return Response(
            error_body("invalid", "The request has invalid fields.", fields=fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ApiError):
        # Let DRF add WWW-Authenticate / Retry-After headers, then replace the body.
        # (Imported here: rest_framework.views imports the authentication classes.)
        from rest_framework.views import exception_handler as drf_exception_handler

        response = drf_exception_handler(exc, context)
        if response is None:  # pragma: no cover - DRF handles every APIException
            response = Response(status=exc.status_code)
        response.data = error_body(exc.code, exc.message)
        if isinstance(exc, Throttled) and exc.wait:
            response["Retry-After"] = str(max(1, int(exc.wait)))
        if isinstance(exc, RangeNotSatisfiable):
            response["Content-Range"] = f"bytes */{exc.size}"
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    # A bug: logged with its traceback, and a body that tells the client nothing more.
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return Response(
        error_body("server_error", "Internal server error."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
