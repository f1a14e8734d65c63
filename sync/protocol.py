"""The wire protocol between FieldApp clients and the central server (JSON over HTTPS).

Shared by both sides. Sealed content travels as base64 text the server never opens: it sees ids,
roles, assignments and statuses, and nothing clinical.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# One list of roles for the client, the server and the wire (re-exported from here).
from fieldapp.domain.people import Role

API = "/v1"
MAX_BLOB = 64 * 1024  # base64 characters of one sealed or wrapped value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


BLOB_PATTERN = r"^[A-Za-z0-9+/=_-]+$"
ID_PATTERN = r"^[A-Za-z0-9._:|-]+$"


class Problem(Model):
    """Every refusal: a code for programs, a sentence for people, and whether to wipe."""

    error: str
    message: str
    wipe: bool = False


class EnrolRequest(Model):
    code: str = Field(min_length=8, max_length=64)
    device_name: str = Field(min_length=1, max_length=100)
    public_key: str | None = Field(default=None, min_length=1, max_length=MAX_BLOB,
                                   pattern=BLOB_PATTERN)
    wrapped_private_key: str | None = Field(default=None, min_length=1, max_length=MAX_BLOB,
                                            pattern=BLOB_PATTERN)


class UserInfo(Model):
    id: str
    name: str
    role: Role
    team_id: str | None = None


class KeyMaterial(Model):
    """The user's public key, and the private key wrapped under their passphrase (opaque here)."""

    public_key: str
    wrapped_private_key: str


class EnrolResponse(Model):
    device_id: str
    device_token: str
    user: UserInfo
    key_material: KeyMaterial | None
    program: dict[str, object]


class CaseInfo(Model):
    id: str
    status: str
    coordinator_id: str | None
    intact_worker_id: str | None
    team_id: str
    sealed_details: str | None = None


class Member(Model):
    user_id: str
    role: Role
    public_key: str | None


class WrappedKey(Model):
    version: int = Field(ge=1, le=1_000_000)
    user_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    wrapped_key: str = Field(min_length=1, max_length=MAX_BLOB, pattern=BLOB_PATTERN)


class KeyUpload(Model):
    keys: list[WrappedKey] = Field(min_length=1, max_length=100)


class DeviceInfo(Model):
    id: str
    user_id: str
    name: str
    enrolled_at: str
    revoked_at: str | None


class Health(Model):
    status: str
    version: str
