"""API views: parse, call a selector or a service, serialize. No rules live here."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api import downloads
from governance.api.auth import BearerTokenAuthentication, SignedLinkAuthentication
from governance.api.exceptions import (
    ApiError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
)
from governance.api.permissions import CanFileRequests, HasOrganization, IsAuthenticatedPerson
from governance.api.selectors_api import (
    Denial,
    api_organizations,
    manifest_files,
    published_releases_for_orgs,
    quick_denial,
    refreshed_denial,
    release_denial,
    release_files_dir,
    releases_visible_to_orgs,
    requests_visible_to_orgs,
)
from governance.api.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    Crypt4ghKeySerializer,
    DataAccessRequestCreateSerializer,
    DataAccessRequestSerializer,
    ErrorSerializer,
    ReleaseListSerializer,
    ReleaseManifestSerializer,
    SignedLinkCreateSerializer,
    SignedLinkSerializer,
)
from governance.api.throttling import DownloadRateThrottle, TokenRateThrottle
from governance.models import Organization, Release
from governance.models.tokens import ApiToken
from governance.services import downloads as download_services

ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Missing, invalid, expired or revoked token"),
    403: OpenApiResponse(ErrorSerializer, description="Not allowed"),
    404: OpenApiResponse(ErrorSerializer, description="Not found (or not yours)"),
    429: OpenApiResponse(ErrorSerializer, description="Throttled"),
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {c: ERRORS.get(c, OpenApiResponse(ErrorSerializer)) for c in codes}


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ApiView(GenericAPIView[Any]):
    """Common ground: who may call, how often, how lists page."""

    permission_classes: Sequence[Any] = (IsAuthenticatedPerson & HasOrganization,)
    throttle_classes: Sequence[Any] = (TokenRateThrottle,)
    pagination_class = Pagination

    def org_ids(self) -> list[int]:
        return api_organizations(self.request)


def _actor(request: Request) -> Any:
    from audit.services import Actor

    return Actor.from_request(request)


_INCONSISTENT = Denial(
    409,
    "file_inconsistent",
    _("The file on disk does not match its manifest entry; contact the data steward."),
)


def _deny(release: Release, denial: Denial, request: Request, name: str | None = None) -> None:
    """Record a refused download attempt on a visible release, then raise the error."""
    if name is not None:
        download_services.file_download_denied(
            release=release,
            name=name,
            code=denial.code,
            status=denial.status,
            actor=_actor(request),
        )
    _raise(denial)


def _raise(denial: Denial) -> None:
    err = ApiError(denial.message, code=denial.code)
    err.status_code = denial.status
    raise err


# --- Recipient encryption key ------------------------------------------------------------------


def _key_payload(org: Organization) -> dict[str, Any]:
    import hashlib

    from deid.genome.c4gh import parse_public_key

    key = org.crypt4gh_public_key or ""
    return {
        "organization": org.pk,
        "public_key": key,
        "fingerprint_sha256": hashlib.sha256(parse_public_key(key)).hexdigest() if key else None,
    }


class Crypt4ghKeyView(ApiView):
    """Your organization's Crypt4GH public key: genome files are published encrypted to it."""

    serializer_class = Crypt4ghKeySerializer
    parser_classes = (JSONParser,)

    def _organization(self, pk: int) -> Organization:
        if pk not in self.org_ids():
            raise NotFound("No such organization.")
        return Organization.objects.get(pk=pk)

    @extend_schema(responses={200: Crypt4ghKeySerializer, **_errors(401, 404, 429)})
    def get(self, request: Request, pk: int) -> Response:
        return Response(_key_payload(self._organization(pk)))

    @extend_schema(
        request=Crypt4ghKeySerializer,
        responses={200: Crypt4ghKeySerializer, 400: ErrorSerializer, **_errors(401, 403, 404, 429)},
    )
    def put(self, request: Request, pk: int) -> Response:
        from governance import services

        org = self._organization(pk)
        data = Crypt4ghKeySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.organization_register_crypt4gh_key(
            organization=org, acting_user=request.user, public_key=data.validated_data["public_key"]
        )
        return Response(_key_payload(org))


# --- Tokens --------------------------------------------------------------------------------------


class TokenListCreateView(ApiView):
    """Your API tokens (never their secrets); create one (shown once)."""

    permission_classes = (IsAuthenticatedPerson,)
    serializer_class = ApiTokenSerializer
    parser_classes = (JSONParser,)

    def get_queryset(self) -> Any:
        return ApiToken.objects.filter(person_id=self.request.user.pk).select_related(
            "organization"
        )

    @extend_schema(responses={200: ApiTokenSerializer(many=True), **_errors(401, 429)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiTokenSerializer(page, many=True).data)

    @extend_schema(
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer, 400: ErrorSerializer, **_errors(401, 403, 429)},
    )
    def post(self, request: Request) -> Response:
        from governance.services.tokens import token_create

        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org_ids = self.org_ids()
        if isinstance(request.auth, ApiToken):
            org_ids = [request.auth.organization_id]  # a token never widens its own scope
        wanted = data.validated_data.get("organization")
        if wanted is not None:
            if wanted not in org_ids:
                raise Forbidden("You are not a member of that organization.")
            org_id = wanted
        elif len(org_ids) == 1:
            org_id = org_ids[0]
        elif not org_ids:
            raise Forbidden("You are not a member of any organization.")
        else:
            raise ApiError(
                "You belong to several organizations: give 'organization'.", code="invalid"
            )
        expires_at = data.validated_data.get("expires_at")
        if isinstance(request.auth, ApiToken):
            # A token may mint tokens, but none that outlives it.
            parent_expiry = request.auth.expires_at
            expires_at = min(expires_at or parent_expiry, parent_expiry)
        token, raw = token_create(
            person=request.user,
            organization=Organization.objects.get(pk=org_id),
            name=data.validated_data["name"],
            expires_at=expires_at,
            actor=_actor(request),
        )
        body = ApiTokenCreatedSerializer(token).data
        body["token"] = raw
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class TokenDetailView(ApiView):
    permission_classes = (IsAuthenticatedPerson,)
    serializer_class = ApiTokenSerializer

    def get_object(self) -> ApiToken:
        token = ApiToken.objects.filter(
            person_id=self.request.user.pk, pk=self.kwargs["pk"]
        ).first()
        if token is None:
            raise NotFound()
        return token

    @extend_schema(responses={200: ApiTokenSerializer, **_errors(401, 404, 429)})
    def get(self, request: Request, pk: int) -> Response:
        return Response(ApiTokenSerializer(self.get_object()).data)

    @extend_schema(responses={200: ApiTokenSerializer, **_errors(401, 404, 429)})
    def delete(self, request: Request, pk: int) -> Response:
        """Revoke the token (it stops working at once)."""
        from governance.services.tokens import token_revoke

        token = token_revoke(
            token=self.get_object(), acting_user=request.user, actor=_actor(request)
        )
        return Response(ApiTokenSerializer(token).data)


# --- Data access requests --------------------------------------------------------------------


class RequestListCreateView(ApiView):
    serializer_class = DataAccessRequestSerializer
    parser_classes = (MultiPartParser,)

    def get_queryset(self) -> Any:
        return requests_visible_to_orgs(self.org_ids())

    def get_permissions(self) -> Sequence[Any]:
        if self.request.method == "POST":
            return [p() for p in (IsAuthenticatedPerson, HasOrganization, CanFileRequests)]
        return super().get_permissions()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Refuse an oversized upload before it is read or spooled to disk.
        if request.method == "POST":
            length = request.META.get("CONTENT_LENGTH") or "0"
            limit = 2 * int(settings.DEID_MAX_DOCUMENT_BYTES) + 1024 * 1024
            if length.isdigit() and int(length) > limit:
                raise PayloadTooLarge(f"The upload is {length} bytes; the limit is {limit} bytes.")
        super().initial(request, *args, **kwargs)

    @extend_schema(
        responses={200: DataAccessRequestSerializer(many=True), **_errors(401, 403, 429)}
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DataAccessRequestSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": DataAccessRequestCreateSerializer},
        responses={
            201: DataAccessRequestSerializer,
            400: ErrorSerializer,
            409: ErrorSerializer,
            413: ErrorSerializer,
            415: ErrorSerializer,
            **_errors(401, 403, 429),
        },
    )
    def post(self, request: Request) -> Response:
        """File a data access request with its IRB approval and signed DUA (PDF uploads)."""
        from governance.services.filing import file_request

        data = DataAccessRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org_ids = [o for o in self.org_ids() if _can_file(request, o)]
        if isinstance(request.auth, ApiToken):
            org_ids = [o for o in org_ids if o == request.auth.organization_id]
        if len(org_ids) != 1:
            raise Forbidden("File requests with a token of the organization you file for.")
        dar = file_request(
            person=request.user,
            organization=Organization.objects.get(pk=org_ids[0]),
            data=data.validated_data,
        )
        dar = self.get_queryset().get(pk=dar.pk)
        return Response(DataAccessRequestSerializer(dar).data, status=status.HTTP_201_CREATED)


def _can_file(request: Request, org_id: int) -> bool:
    from governance.api.selectors_api import can_file_requests

    return can_file_requests(person=request.user, organization=org_id)


class RequestDetailView(ApiView):
    serializer_class = DataAccessRequestSerializer

    @extend_schema(responses={200: DataAccessRequestSerializer, **_errors(401, 403, 404, 429)})
    def get(self, request: Request, pk: int) -> Response:
        dar = requests_visible_to_orgs(self.org_ids()).filter(pk=pk).first()
        if dar is None:
            raise NotFound()
        return Response(DataAccessRequestSerializer(dar).data)


class RequestSubmitView(ApiView):
    serializer_class = DataAccessRequestSerializer
    parser_classes = (JSONParser,)

    def get_permissions(self) -> Sequence[Any]:
        return [p() for p in (IsAuthenticatedPerson, HasOrganization, CanFileRequests)]

    @extend_schema(
        request=None,
        responses={
            200: DataAccessRequestSerializer,
            409: OpenApiResponse(ErrorSerializer, description="Not a draft"),
            **_errors(401, 403, 404, 429),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """Submit a draft request for review (409 when it is not a draft)."""
        from governance.services.filing import submit_request

        dar = requests_visible_to_orgs(self.org_ids()).filter(pk=pk).first()
        if dar is None:
            raise NotFound()
        dar = submit_request(person=request.user, request=dar)
        dar = requests_visible_to_orgs(self.org_ids()).get(pk=dar.pk)
        return Response(DataAccessRequestSerializer(dar).data)


# --- Releases ----------------------------------------------------------------------------------


class ReleaseListView(ApiView):
    serializer_class = ReleaseListSerializer

    @extend_schema(responses={200: ReleaseListSerializer(many=True), **_errors(401, 403, 429)})
    def get(self, request: Request) -> Response:
        """Your organization's published releases."""
        page = self.paginate_queryset(published_releases_for_orgs(self.org_ids()))
        return self.get_paginated_response(ReleaseListSerializer(page, many=True).data)


def _visible_release(request: Request, pk: int) -> Release:
    release = releases_visible_to_orgs(api_organizations(request)).filter(pk=pk).first()
    if release is None:
        raise NotFound()
    return release


class ReleaseDetailView(ApiView):
    serializer_class = ReleaseManifestSerializer

    @extend_schema(
        responses={
            200: ReleaseManifestSerializer,
            409: OpenApiResponse(ErrorSerializer, description="Not published yet"),
            410: OpenApiResponse(ErrorSerializer, description="Expired or revoked"),
            **_errors(401, 403, 404, 429),
        }
    )
    def get(self, request: Request, pk: int) -> Response:
        """The manifest: files (size, rows, SHA-256), schema, privacy report, DUA terms, expiry."""
        release = _visible_release(request, pk)
        denial = release_denial(release)
        if denial is not None:
            _deny(release, denial, request)
        download_services.release_manifest_viewed(release=release, actor=_actor(request))
        return Response(ReleaseManifestSerializer(release).data)


class SignedLinkView(ApiView):
    serializer_class = SignedLinkSerializer
    parser_classes = (JSONParser,)
    throttle_classes = (TokenRateThrottle, DownloadRateThrottle)

    @extend_schema(
        request=SignedLinkCreateSerializer,
        responses={
            201: SignedLinkSerializer,
            400: ErrorSerializer,
            409: ErrorSerializer,
            410: ErrorSerializer,
            **_errors(401, 403, 404, 429),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """A short-lived link to one file, bound to you, for tools that cannot send headers."""
        data = SignedLinkCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data["name"]
        release = _visible_release(request, pk)
        token_id = request.auth.pk if isinstance(request.auth, ApiToken) else None
        try:
            path, expires_at = download_services.issue_file_link(
                release=release,
                name=name,
                person_id=int(request.user.pk or 0),
                token_id=token_id,
                actor=_actor(request),
            )
        except download_services.LinkRefused as exc:
            if exc.denial is None:
                raise NotFound() from None
            _raise(exc.denial)
        return Response(
            {"url": request.build_absolute_uri(path), "expires_at": expires_at},
            status=status.HTTP_201_CREATED,
        )


class ReleaseFileView(ApiView):
    """One file of a release, streamed, with Range, ETag and Repr-Digest."""

    authentication_classes = (BearerTokenAuthentication, SignedLinkAuthentication)
    throttle_classes = (TokenRateThrottle, DownloadRateThrottle)

    def _prepare(self, request: Request, pk: int, name: str) -> tuple[Release, dict[str, Any], Any]:
        link = getattr(request, "_signed_link", None)
        if link is not None and (link.release_id != pk or link.name != name):
            raise NotFound()
        release = _visible_release(request, pk)
        denial = release_denial(release)
        if denial is not None:
            _deny(release, denial, request, name)
        entries = {f["name"]: f for f in manifest_files(release)}
        path = downloads.safe_file_path(release_files_dir(release), name, set(entries))
        entry = entries[name]
        sha = str(entry.get("sha256", "")).lower()
        size = path.stat().st_size
        if size != entry.get("size") or len(sha) != 64 or downloads.content_sha256(path) != sha:
            # changed on disk after publication: refused (and audited) before a byte is served
            _deny(release, _INCONSISTENT, request, name)
        return release, entry, path

    @extend_schema(
        parameters=[
            OpenApiParameter("Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("If-Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("sig", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            409: ErrorSerializer,
            410: ErrorSerializer,
            416: ErrorSerializer,
            **_errors(401, 403, 404, 429),
        },
    )
    def get(self, request: Request, pk: int, name: str) -> Any:
        release, entry, path = self._prepare(request, pk, name)
        sha = str(entry["sha256"]).lower()
        size = path.stat().st_size
        etag = downloads.sha256_etag(sha)
        byte_range = None
        if downloads.if_range_allows(request.headers.get("If-Range"), etag):
            byte_range = downloads.parse_range(request.headers.get("Range"), size)
        partial = byte_range is not None
        byte_range = byte_range or downloads.ByteRange(0, size - 1, size)
        actor = _actor(request)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        via_link = getattr(request, "_signed_link", None) is not None
        started = time.monotonic()
        release_id = release.pk

        last_full = [time.monotonic()]

        def still_allowed() -> str | None:
            # Revocation/expiry: the release row, every few MiB. IRB/DUA validity (which
            # changes by date or by a reviewer): the full rule, every FULL_CHECK_SECONDS.
            if time.monotonic() - last_full[0] >= downloads.FULL_CHECK_SECONDS:
                last_full[0] = time.monotonic()
                denial = refreshed_denial(release_id)
            else:
                denial = quick_denial(release_id)
            return denial.code if denial else None

        def on_close(result: downloads.StreamResult) -> None:
            download_services.file_download_recorded(
                release_id=release_id,
                actor=actor,
                details={
                    "file": name,
                    "sha256": sha,
                    "person_id": actor.user_id,
                    "token_id": token.display_id if token else "",
                    "signed_link": via_link,
                    "range": f"{byte_range.start}-{byte_range.end}" if partial else "",
                    "requested_bytes": byte_range.length,
                    "bytes_sent": result.bytes_sent,
                    "completed": result.completed,
                    "stopped": result.stopped_reason or "",
                    "seconds": round(time.monotonic() - started, 3),
                },
            )

        if size == 0:
            on_close(downloads.StreamResult(completed=True))
            return self._empty(entry, sha)
        chunks = downloads.stream_file(
            path.open("rb"),
            byte_range,
            still_allowed=still_allowed,
            on_close=on_close,
            chunk_size=downloads.CHUNK_SIZE,
            check_every=downloads.CHECK_EVERY_CHUNKS,
        )
        return downloads.streaming_response(
            chunks,
            byte_range=byte_range,
            partial=partial,
            filename=path.name,
            sha256_hex=sha,
            content_type=downloads.content_type_for(name),
        )

    def _empty(self, entry: dict[str, Any], sha: str) -> HttpResponse:
        response = HttpResponse(b"", content_type=downloads.content_type_for(entry["name"]))
        response["ETag"] = downloads.sha256_etag(sha)
        for k, v in downloads.digest_headers(sha).items():
            response[k] = v
        return response

    @extend_schema(exclude=True)
    def head(self, request: Request, pk: int, name: str) -> HttpResponse:
        _release, entry, path = self._prepare(request, pk, name)
        sha = str(entry["sha256"]).lower()
        response = HttpResponse(content_type=downloads.content_type_for(name))
        response["Content-Length"] = str(path.stat().st_size)
        response["Accept-Ranges"] = "bytes"
        response["ETag"] = downloads.sha256_etag(sha)
        for k, v in downloads.digest_headers(sha).items():
            response[k] = v
        return response
